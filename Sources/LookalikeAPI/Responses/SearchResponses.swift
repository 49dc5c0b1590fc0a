import HTTPCore
import Lookalike

/// One ranked match.
struct MatchBody: Encodable {
    let id: String
    let score: Double
    let metadata: RawJSON

    init(_ match: Match) {
        id = match.key
        score = Score.rounded(match.score)
        metadata = RawJSON(metadata: match.metadata)
    }
}

/// Ranked matches, best first.
struct ResultsBody: Encodable {
    let results: [MatchBody]
    let total: Int
    let tookMilliseconds: Double

    enum CodingKeys: String, CodingKey {
        case results, total
        case tookMilliseconds = "took_ms"
    }
}

/// Matches grouped by a metadata field's value.
struct GroupedResultsBody: Encodable {
    struct Group: Encodable {
        /// The field's value, as stored JSON.
        let value: RawJSON
        let results: [MatchBody]
    }

    let groups: [Group]
    let total: Int
    let tookMilliseconds: Double

    enum CodingKeys: String, CodingKey {
        case groups, total
        case tookMilliseconds = "took_ms"
    }
}

/// The problem an upload refused as a duplicate answers with: RFC 9457's members and the stored images it duplicates.
struct DuplicateProblemBody: Encodable {
    let type = "about:blank"
    let title = HTTPStatus.conflict.reasonPhrase
    let status = HTTPStatus.conflict.code
    let detail: String
    let duplicates: [MatchBody]
}
