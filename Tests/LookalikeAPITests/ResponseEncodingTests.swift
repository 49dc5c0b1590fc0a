import Testing
import Lookalike
@testable import LookalikeAPI

/// The search path's bodies build their JSON directly; their `Encodable` form, through ``JSONValueEncoder``, must
/// give the same bytes.
struct ResponseEncodingTests {
    static let matches = [
        Match(key: "a", score: 0.987654321, metadata: #"{"colour":"red","n":[1,2]}"#),
        Match(key: "b\"quoted\u{1}", score: -0.5, metadata: "{}"),
        Match(key: "ü-ñ", score: 1, metadata: ""),
    ]

    @Test func resultsEncodeAlikeBothWays() throws {
        let body = ResultsBody(results: Self.matches.map(MatchBody.init), total: 3, tookMilliseconds: 1.234)
        let viaEncoder = try JSONValueEncoder.encode(body).serialized
        #expect(viaEncoder == body.jsonValue.serialized, "\(String(decoding: viaEncoder, as: UTF8.self))")
        #expect(String(decoding: viaEncoder, as: UTF8.self).hasPrefix(#"{"results":[{"id":"a","metadata":{"colour":"red","n":[1,2]},"score":0.987654"#))
    }

    @Test func groupedResultsEncodeAlikeBothWays() throws {
        let body = GroupedResultsBody(groups: [
            .init(value: RawJSON(text: #""shoes""#), results: Self.matches.prefix(2).map(MatchBody.init)),
            .init(value: RawJSON(text: "42"), results: [MatchBody(Self.matches[2])]),
        ], total: 2, tookMilliseconds: 0.5)
        #expect(try JSONValueEncoder.encode(body).serialized == body.jsonValue.serialized)
    }
}
