import Foundation
import Storage

/// The items of an import job, from a manifest (JSON lines or CSV) or a folder.
///
/// A manifest line that cannot become an item (not JSON, no id, neither or both of `url` and `path`, a bad id or
/// metadata, an id seen earlier) is kept as an item refused with its reason, so one bad line costs one item, not
/// the job; a body that is not a manifest at all, or has more than `maxItems` lines, is an ``ImportError``.
public enum ImportManifest {
    public enum Format: String, Sendable, CaseIterable {
        /// One JSON object per line: `{"id": "...", "url": "https://..." | "path": "...", "metadata": {...}}`.
        case jsonLines
        /// A header naming `id`, `url` or `path`, and optionally `metadata` (a JSON object as text).
        case csv
    }

    public static func items(from bytes: [UInt8], format: Format, maxItems: Int, maxMetadataBytes: Int) throws(ImportError) -> [ImportItem] {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidManifest("not UTF-8 text") }
        let entries: [Entry]
        switch format {
        case .jsonLines: entries = try jsonLines(text, maxItems: maxItems)
        case .csv: entries = try csvRows(text, maxItems: maxItems)
        }
        guard !entries.isEmpty else { throw .invalidManifest("no items") }
        var seen: [String: Int] = [:]
        return entries.enumerated().map { offset, entry in
            let position = offset + 1
            do {
                let item = try entry.item(position: position, maxMetadataBytes: maxMetadataBytes)
                if let key = item.key {
                    if let earlier = seen[key] { throw Refusal("id '\(key)' is also item \(earlier) of this manifest") }
                    seen[key] = position
                }
                return item
            } catch {
                return ImportItem(position: position, key: entry.key, source: nil, metadata: nil, state: .refused,
                                  reason: "item \(position): \(error)")
            }
        }
    }

    /// The image files under `folder` (relative to `root`), in path order, each stored under its path relative
    /// to the folder.
    public static func items(inFolder folder: String, root: String, maxItems: Int) throws(ImportError) -> [ImportItem] {
        guard !root.isEmpty else { throw .foldersNotConfigured }
        let base: URL
        do { base = try ImportPaths.resolve(folder, under: root) } catch {
            throw error.missing ? .folderNotFound(error.description) : .invalidFolder(error.description)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: base.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .folderNotFound("'\(folder.prefix(200))' is not a folder under imports.root")
        }
        var relative: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: base.path)
        while let entry = enumerator?.nextObject() as? String {
            guard imageExtensions.contains((entry as NSString).pathExtension.lowercased()) else { continue }
            relative.append(entry)
            if relative.count > maxItems { throw .tooManyItems(limit: maxItems) }
        }
        guard !relative.isEmpty else { throw .folderNotFound("no image files under '\(folder.prefix(200))'") }
        let prefix = folder.split(separator: "/").joined(separator: "/")
        return relative.sorted().enumerated().map { offset, path in
            ImportItem(position: offset + 1, key: path, source: .path(prefix.isEmpty ? path : prefix + "/" + path), metadata: nil)
        }
    }

    /// File name extensions a folder import takes (the decoder still checks the bytes).
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "jpe", "png", "webp", "gif", "bmp", "dib", "tif", "tiff", "heic", "heif", "avif"]

    /// One manifest entry's fields, as given.
    struct Entry {
        var key: String?
        var url: String?
        var path: String?
        var metadata: String?
        /// Why the line could not be read, if it could not.
        var problem: String?

        func item(position: Int, maxMetadataBytes: Int) throws -> ImportItem {
            if let problem { throw Refusal(problem) }
            guard let key, !key.isEmpty else { throw Refusal("no id") }
            try RecordValidation.validateKey(key)
            let source: ImportItem.Source
            switch (url.flatMap { $0.isEmpty ? nil : $0 }, path.flatMap { $0.isEmpty ? nil : $0 }) {
            case (let url?, nil): source = .url(url)
            case (nil, let path?): source = .path(path)
            case (nil, nil): throw Refusal("neither url nor path")
            case (_?, _?): throw Refusal("both url and path")
            }
            let checkedMetadata = try metadata.map { text in try RecordValidation.validateMetadata(text, maxBytes: maxMetadataBytes) }
            return ImportItem(position: position, key: key, source: source, metadata: checkedMetadata)
        }
    }

    struct Refusal: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func jsonLines(_ text: String, maxItems: Int) throws(ImportError) -> [Entry] {
        var entries: [Entry] = []
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            if line.allSatisfy(\.isWhitespace) { continue }
            guard entries.count < maxItems else { throw .tooManyItems(limit: maxItems) }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                entries.append(Entry(problem: "not a JSON object"))
                continue
            }
            var entry = Entry()
            let known: Set<String> = ["id", "url", "path", "metadata"]
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                entry.problem = "unknown field '\(unknown.prefix(40))' (id, url, path, metadata)"
            }
            for (name, value) in object where known.contains(name) && name != "metadata" {
                guard let string = value as? String else {
                    entry.problem = entry.problem ?? "'\(name)' must be a string"
                    continue
                }
                switch name {
                case "id": entry.key = string
                case "url": entry.url = string
                default: entry.path = string
                }
            }
            if let metadata = object["metadata"], !(metadata is NSNull) {
                if metadata is [String: Any], let data = try? JSONSerialization.data(withJSONObject: metadata) {
                    entry.metadata = String(decoding: data, as: UTF8.self)
                } else {
                    entry.problem = entry.problem ?? "'metadata' must be a JSON object"
                }
            }
            entries.append(entry)
        }
        return entries
    }

    static func csvRows(_ text: String, maxItems: Int) throws(ImportError) -> [Entry] {
        var rows = CSVReader(text)
        guard let header = try rows.next() else { throw .invalidManifest("no header row") }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let known: Set<String> = ["id", "url", "path", "metadata"]
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw .invalidManifest("unknown CSV column '\(unknown.prefix(40))' (id, url, path, metadata)")
        }
        guard names.contains("id"), names.contains("url") || names.contains("path"), Set(names).count == names.count else {
            throw .invalidManifest("the CSV header names id and url or path, each once")
        }
        var entries: [Entry] = []
        while let row = try rows.next() {
            if row.count == 1 && row[0].isEmpty { continue }
            guard entries.count < maxItems else { throw .tooManyItems(limit: maxItems) }
            guard row.count == names.count else {
                entries.append(Entry(problem: "\(row.count) fields, the header has \(names.count)"))
                continue
            }
            var entry = Entry()
            for (name, value) in zip(names, row) {
                switch name {
                case "id": entry.key = value
                case "url": entry.url = value
                case "path": entry.path = value
                default: entry.metadata = value.isEmpty ? nil : value
                }
            }
            entries.append(entry)
        }
        return entries
    }
}
