import Imaging
import Lookalike

/// Every query parameter the API's endpoints share, with its default and bounds from the domain's one home for
/// them (``SearchOptions``, ``Paging``). Routes name them in their operations as `#/components/parameters/NAME`.
enum QueryParameters {
    static let k = QueryParameter("k", .integer(SearchOptions.kRange, default: SearchOptions().k))
    static let minScore = QueryParameter("min_score", .number(SearchOptions.minScoreRange, default: nil))
    static let searchK = QueryParameter("search_k", .integer(SearchOptions.searchKRange, default: nil), """
        Candidates the forest collects. A collection small enough to be scanned exactly has no forest and is scanned \
        exactly; 503 while a large collection's first forest is built.
        """)
    static let exact = QueryParameter("exact", .boolean(default: SearchOptions().exact))
    static let offset = QueryParameter("offset", .integer(SearchOptions.offsetRange, default: SearchOptions().offset),
                                       "Results skipped before the k returned, for paging.")
    static let groupBy = QueryParameter("group_by", .string(schema: "FieldPath"), """
        Group results by this metadata key (dotted path): k groups of at most group_size results, each group's best \
        first, groups ordered by their best result; images without the key are left out. The answer then has 'groups' \
        [{value, results}] instead of 'results'.
        """)
    static let groupSize = QueryParameter("group_size", .integer(SearchOptions.groupSizeRange, default: SearchOptions().groupSize))
    static let expand = QueryParameter("expand", .integer(SearchOptions.expansionRange, default: SearchOptions().expansion), """
        Query expansion: the query plus its n nearest results, each weighted by its score, is searched instead (better \
        rankings on both evaluation sets with 3; scores are then cosines to that expanded query). 0: off.
        """)
    static let filter = QueryParameter("filter", .filter,
                                       "A metadata filter (URL-encoded JSON, see the Filter schema), applied inside the candidate scan.")
    static let limit = QueryParameter("limit", .integer(Paging.limitRange, default: Paging.defaultLimit))
    static let after = QueryParameter("after", .string(schema: nil), "The cursor: the `next` of the previous page.")
    static let threshold = QueryParameter("threshold", .number(-1...1, default: Paging.defaultThreshold))
    static let neighbours = QueryParameter("neighbours", .integer(Paging.neighboursRange, default: Paging.defaultNeighbours))

    static let uploadID = QueryParameter("id", .string(schema: "Key"), "The image's id (a raw body's; multipart bodies may carry it as a part).",
                                         component: "upload_id")
    static let metadata = QueryParameter("metadata", .jsonObject, "The image's metadata (a raw body's; multipart bodies may carry it as a part).")
    static let onDuplicate = QueryParameter("on_duplicate", .choice(["allow", "reject"], default: "allow"),
                                            "reject: answer 409 with the near-duplicates found instead of storing.")
    static let box = QueryParameter("box", .pattern(ImageRegion.syntax, example: "0.5,0,0.5,1"), """
        x,y,w,h: only this region of the upright image goes to the model; pixels, or fractions of the width and height \
        when all four are ≤ 1. Outside the image, or a side under 16 pixels: 422.
        """)

    static let importConcurrency = QueryParameter("concurrency", .integer(1...256, default: nil), """
        Items the job works on at once; default imports.concurrency, and above imports.maxConcurrency the job gets \
        that maximum.
        """, component: "import_concurrency")
    static let importOnDuplicate = QueryParameter("on_duplicate", .choice(["store", "skip"], default: "store"), """
        skip: an image that is a near-duplicate of a stored one is not stored (its outcome is 'duplicate'); store: it \
        is stored, its near-duplicates named in its outcome.
        """, component: "import_on_duplicate")
    static let importAfter = QueryParameter("after", .integer(0...1_000_000_000, default: 0),
                                            "The cursor: the `next` of the previous page (an item position).", component: "import_after")
    static let importState = QueryParameter("state", .choice(["all", "pending", "storing", "stored", "duplicate", "refused"], default: "all"),
                                            "Only items in this state.", component: "import_state")

    /// The search options every search route takes.
    static let search = [k, minScore, searchK, exact, filter, offset, groupBy, groupSize, expand]

    static let all = search + [limit, after, threshold, neighbours, uploadID, metadata, onDuplicate, box,
                               importConcurrency, importOnDuplicate, importState, importAfter]

    /// The document's `components/parameters` entries.
    static var components: [String: Any] {
        Dictionary(uniqueKeysWithValues: all.map { ($0.component, $0.document) })
    }

    /// Replaces the marker `"x-search-options": true` in an operation's JSON body schema by the search options as
    /// body members (`search/vector` and `recommend` take them in the body as well as in the query string).
    static func addSearchOptions(toBodyOf operation: inout [String: Any]) {
        guard var body = operation["requestBody"] as? [String: Any], var content = body["content"] as? [String: Any],
              var json = content["application/json"] as? [String: Any], var schema = json["schema"] as? [String: Any],
              schema.removeValue(forKey: "x-search-options") != nil else { return }
        var properties = schema["properties"] as? [String: Any] ?? [:]
        for parameter in search { properties[parameter.name] = parameter.bodySchema }
        schema["properties"] = properties
        json["schema"] = schema
        content["application/json"] = json
        body["content"] = content
        operation["requestBody"] = body
    }
}
