import HTTPCore
import Lookalike

/// One ranked match.
struct MatchBody: DirectJSONBody {
    let id: String
    let score: Double
    let metadata: RawJSON

    init(_ match: Match) {
        id = match.key
        score = Score.rounded(match.score)
        metadata = RawJSON(metadata: match.metadata)
    }

    var jsonValue: JSONValue {
        .object([("id", .string(id)), ("metadata", .verbatim(metadata.text)), ("score", .number(score))])
    }
}

/// Ranked matches, best first.
struct ResultsBody: DirectJSONBody {
    let results: [MatchBody]
    let total: Int
    let tookMilliseconds: Double

    enum CodingKeys: String, CodingKey {
        case results, total
        case tookMilliseconds = "took_ms"
    }

    var jsonValue: JSONValue {
        .object([("results", .array(results.map(\.jsonValue))), ("took_ms", .number(tookMilliseconds)), ("total", .int(total))])
    }
}

/// Matches grouped by a metadata field's value.
struct GroupedResultsBody: DirectJSONBody {
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

    var jsonValue: JSONValue {
        let groups = self.groups.map { group in
            JSONValue.object([("results", .array(group.results.map(\.jsonValue))), ("value", .verbatim(group.value.text))])
        }
        return .object([("groups", .array(groups)), ("took_ms", .number(tookMilliseconds)), ("total", .int(total))])
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

/// A response type on the search path, where every request writes one: it also builds its JSON value directly (members
/// in key order), which costs a fraction of going through `Encoder` (measured in docs/benchmarks.md). A test holds
/// the two encodings to the same bytes.
protocol DirectJSONBody: Encodable {
    var jsonValue: JSONValue { get }
}
