import ArgumentParser
import Foundation
import Lookalike
import MetadataFilter
import Imaging

/// A `--filter` option's JSON, parsed; a malformed filter is a usage error naming the byte or key.
func parseFilter(_ text: String?) throws -> Filter? {
    guard let text else { return nil }
    do {
        return try Filter.parse(text)
    } catch {
        throw ValidationError("--filter: \(error.description)")
    }
}

/// `--k`, `--min-score`, `--exact`, `--filter`, `--expand` and `--json` for the search commands.
struct SearchFlags: ParsableArguments {
    @Option(help: "Number of results (1–1000).") var k = SearchOptions().k
    @Option(help: "Drop results below this cosine similarity.") var minScore: Float?
    @Flag(help: "Brute-force search instead of the forest.") var exact = false
    @Option(help: "Only images whose metadata matches this JSON filter (see the README's Filters).") var filter: String?
    @Option(help: "Query expansion: search with the query plus its N nearest results (0–10; 0: off).") var expand = 0
    @Flag(help: "Print JSON.") var json = false

    func validate() throws { _ = try parseFilter(filter) }

    var searchOptions: SearchOptions {
        get throws { SearchOptions(k: k, minScore: minScore, exact: exact, filter: try parseFilter(filter), expansion: expand) }
    }

    func print(_ matches: [Match]) {
        if json {
            let items = matches.map { "{\"id\":\(jsonQuote($0.key)),\"score\":\(String(format: "%.6f", $0.score)),\"metadata\":\($0.metadata)}" }
            Swift.print("{\"results\":[\(items.joined(separator: ","))]}")
        } else {
            for match in matches { Swift.print(String(format: "%.4f  %@", match.score, match.key)) }
        }
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Find stored images similar to an image file.")
    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @OptionGroup var flags: SearchFlags
    @Option(help: "Only this region of the upright image, x,y,w,h: pixels, or fractions when all four are ≤ 1.") var box: String?
    @Argument(help: "JPEG or PNG file.") var image: String

    func validate() throws {
        if let box {
            do { _ = try ImageRegion(parsing: box) } catch { throw ValidationError("--box: \(error.description)") }
        }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: image) else { throw ValidationError("cannot read \(image)") }
        let service = try options.openService()
        defer { service.shutdown() }
        let region = try box.map { text throws(ImagingError) in try ImageRegion(parsing: text) }
        flags.print(try service.search(bytes: [UInt8](data), region: region, options: try flags.searchOptions, collection: collection.name))
    }
}

struct Similar: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Find stored images similar to a stored image (itself excluded).")
    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @OptionGroup var flags: SearchFlags
    @Argument(help: "Image id.") var id: String

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        flags.print(try service.similar(key: id, options: try flags.searchOptions, collection: collection.name))
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a stored image.")
    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @Argument(help: "Image id.") var id: String

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        guard try service.delete(key: id, collection: collection.name) else { throw ValidationError("no image with id '\(id)'") }
        print("deleted \(id)")
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print collection and index statistics.")
    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        let stats = try service.statistics(collection: collection.name)
        print("collection \(collection.name): images \(stats.images), indexed \(stats.indexed), trees \(stats.trees), index \(stats.indexBytes / 1_000_000) MB, model \(stats.model)")
    }
}

struct Duplicates: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Groups of near-duplicate images in a collection, and the decisions that keep images apart.",
        discussion: """
            Each image's nearest neighbours come from the index (no all-pairs matrix); pairs at or above the threshold \
            are joined into groups, except images a "not duplicates" decision holds together. --not-duplicates \
            A,B,… records such a decision, --decisions lists them, --undo ID removes one.
            """)
    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @Option(help: "Cosine similarity at or above which two images are duplicates.") var threshold = Float(Paging.defaultThreshold)
    @Option(help: "Neighbours examined per image.") var neighbours = Paging.defaultNeighbours
    @Option(help: "Only group images whose metadata matches this JSON filter.") var filter: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Record that these ids (comma-separated) are not duplicates of one another.") var notDuplicates: String?
    @Flag(help: "List the \"not duplicates\" decisions.") var decisions = false
    @Option(help: "Undo the decision with this id.") var undo: Int64?

    func validate() throws {
        guard (-1...1).contains(threshold) else { throw ValidationError("--threshold must be -1...1") }
        guard (1...1000).contains(neighbours) else { throw ValidationError("--neighbours must be 1...1000") }
        _ = try parseFilter(filter)
        guard [notDuplicates != nil, decisions, undo != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("--not-duplicates, --decisions and --undo go one at a time")
        }
    }

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        if let notDuplicates {
            let keys = notDuplicates.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let decision = try service.recordNotDuplicates(keys: keys, collection: collection.name)
            print("decision \(decision.id): \(decision.keys.joined(separator: "  ")) are not duplicates")
            return
        }
        if let undo {
            try service.undoDecision(undo, collection: collection.name)
            print("decision \(undo) undone")
            return
        }
        if decisions {
            let listed = try service.duplicateDecisions(collection: collection.name)
            for decision in listed { print("\(decision.id)  \(decision.keys.joined(separator: "  "))") }
            print("\(listed.count) decisions")
            return
        }
        var groups: [[String]] = []
        var cursor: String? = nil
        repeat {
            let page = try service.duplicates(
                threshold: threshold, neighbours: neighbours, limit: 1000, after: cursor, filter: try parseFilter(filter),
                collection: collection.name)
            groups += page.groups
            cursor = page.next
        } while cursor != nil
        if json {
            print("{\"groups\":[\(groups.map { "[" + $0.map(jsonQuote).joined(separator: ",") + "]" }.joined(separator: ","))]}")
        } else {
            for group in groups { print(group.joined(separator: "  ")) }
            print("\(groups.count) groups, \(groups.reduce(0) { $0 + $1.count }) images")
        }
    }
}

struct Collections: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List collections, or create or delete one.",
        discussion: "Without arguments, lists every collection. `create NAME` and `delete NAME` change them (delete removes every image stored in it).")
    @OptionGroup var options: ServiceOptions
    @Argument(help: "list, create or delete.") var action = "list"
    @Argument(help: "Collection name (create, delete).") var name: String?
    @Option(help: "Code scheme of a new collection: simhash or itq.") var codeScheme: String?
    @Option(help: "Code bits of a new collection: 64, 128 or 256.") var codeBits: Int?
    @Option(help: "Index kind of a new collection: forest (default) or graph (compressed, for millions of images).")
    var indexKind: String?

    func validate() throws {
        guard ["list", "create", "delete"].contains(action) else { throw ValidationError("the action must be list, create or delete") }
        if action != "list" && name == nil { throw ValidationError("\(action) needs a collection name") }
    }

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        switch action {
        case "create":
            var settings: [String: Any] = [:]
            if let codeScheme { settings["code_scheme"] = codeScheme }
            if let codeBits { settings["code_bits"] = codeBits }
            if let indexKind { settings["index"] = ["kind": indexKind] }
            let summary = try service.createCollection(name: name ?? "", settings: settings)
            print("created \(summary.name)")
        case "delete":
            try service.deleteCollection(name ?? "")
            print("deleted \(name ?? "")")
        default:
            for summary in try service.listCollections() {
                print("\(summary.name)  images \(summary.images)  \(summary.bytes / 1_000) kB  index \(summary.indexKind)/\(summary.indexState)  codes \(summary.codeScheme)/\(summary.codeBits)")
            }
        }
    }
}
