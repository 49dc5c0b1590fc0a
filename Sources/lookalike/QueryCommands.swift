import ArgumentParser
import Foundation
import Lookalike

/// `--k`, `--min-score`, `--exact` and `--json` for the search commands.
struct SearchFlags: ParsableArguments {
    @Option(help: "Number of results (1–1000).") var k = 10
    @Option(help: "Drop results below this cosine similarity.") var minScore: Float?
    @Flag(help: "Brute-force search instead of the forest.") var exact = false
    @Flag(help: "Print JSON.") var json = false

    var searchOptions: SearchOptions { SearchOptions(k: k, minScore: minScore, exact: exact) }

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
    @OptionGroup var flags: SearchFlags
    @Argument(help: "JPEG or PNG file.") var image: String

    func run() throws {
        guard let data = FileManager.default.contents(atPath: image) else { throw ValidationError("cannot read \(image)") }
        let service = try options.openService()
        defer { service.shutdown() }
        flags.print(try service.search(bytes: [UInt8](data), options: flags.searchOptions))
    }
}

struct Similar: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Find stored images similar to a stored image (itself excluded).")
    @OptionGroup var options: ServiceOptions
    @OptionGroup var flags: SearchFlags
    @Argument(help: "Image id.") var id: String

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        flags.print(try service.similar(key: id, options: flags.searchOptions))
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a stored image.")
    @OptionGroup var options: ServiceOptions
    @Argument(help: "Image id.") var id: String

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        guard try service.delete(key: id) else { throw ValidationError("no image with id '\(id)'") }
        print("deleted \(id)")
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print collection and index statistics.")
    @OptionGroup var options: ServiceOptions

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        let stats = try service.statistics()
        print("images \(stats.images), indexed \(stats.indexed), trees \(stats.trees), index \(stats.indexBytes / 1_000_000) MB, model \(stats.model)")
    }
}

struct Duplicates: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Groups of near-duplicate images across the collection.",
        discussion: "Each image's nearest neighbours come from the index (no all-pairs matrix); pairs at or above the threshold are joined into groups.")
    @OptionGroup var options: ServiceOptions
    @Option(help: "Cosine similarity at or above which two images are duplicates.") var threshold: Float = 0.92
    @Option(help: "Neighbours examined per image.") var neighbours = 10
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (-1...1).contains(threshold) else { throw ValidationError("--threshold must be -1...1") }
        guard (1...1000).contains(neighbours) else { throw ValidationError("--neighbours must be 1...1000") }
    }

    func run() throws {
        let service = try options.openService()
        defer { service.shutdown() }
        var keys: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try service.list(limit: 1000, after: cursor)
            keys += page.map(\.key)
            cursor = page.count == 1000 ? page.last?.key : nil
        } while cursor != nil
        var parent = Dictionary(uniqueKeysWithValues: keys.map { ($0, $0) })
        func root(_ key: String) -> String {
            var key = key
            while let next = parent[key], next != key { parent[key] = parent[next]; key = next }
            return key
        }
        for key in keys {
            for match in try service.similar(key: key, options: SearchOptions(k: neighbours, minScore: threshold)) {
                let (a, b) = (root(key), root(match.key))
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        let groups = Dictionary(grouping: keys, by: root).values.filter { $0.count > 1 }.map { $0.sorted() }
            .sorted { $0[0] < $1[0] }
        if json {
            print("{\"groups\":[\(groups.map { "[" + $0.map(jsonQuote).joined(separator: ",") + "]" }.joined(separator: ","))]}")
        } else {
            for group in groups { print(group.joined(separator: "  ")) }
            print("\(groups.count) groups, \(groups.reduce(0) { $0 + $1.count }) images")
        }
    }
}
