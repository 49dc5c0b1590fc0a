import Foundation

/// Paths of import items, resolved inside `imports.root`: relative, without `..`, and still inside the root once
/// symbolic links are followed.
enum ImportPaths {
    struct Refusal: Error, CustomStringConvertible {
        let description: String
        /// Nothing is at the path (rather than a path that may not be used).
        var missing = false
    }

    /// The real location of `relative` under `root`; it must exist.
    static func resolve(_ relative: String, under root: String) throws(Refusal) -> URL {
        guard !relative.hasPrefix("/"), !relative.contains("\0") else {
            throw Refusal(description: "path '\(relative.prefix(200))' must be relative to imports.root")
        }
        guard !relative.split(separator: "/").contains("..") else {
            throw Refusal(description: "path '\(relative.prefix(200))' may not contain '..'")
        }
        guard let realRoot = realPath(root) else { throw Refusal(description: "imports.root '\(root)' does not exist") }
        let joined = relative.isEmpty ? realRoot : realRoot + "/" + relative
        guard let real = realPath(joined) else {
            throw Refusal(description: "no file or folder '\(relative.prefix(200))' under imports.root", missing: true)
        }
        guard real == realRoot || real.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") else {
            throw Refusal(description: "path '\(relative.prefix(200))' leads outside imports.root")
        }
        return URL(fileURLWithPath: real)
    }

    /// The file's bytes, refused when it is not a regular file or larger than `maxBytes` (checked before reading).
    static func readFile(_ relative: String, under root: String, maxBytes: Int) throws(Refusal) -> [UInt8] {
        let url = try resolve(relative, under: root)
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Refusal(description: "cannot open '\(relative.prefix(200))': \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw Refusal(description: "'\(relative.prefix(200))' is not a regular file")
        }
        guard Int(status.st_size) <= maxBytes else {
            throw Refusal(description: "'\(relative.prefix(200))' has \(status.st_size) bytes, over the limit of \(maxBytes)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw Refusal(description: "cannot read '\(relative.prefix(200))'") }
            filled += count
        }
        return bytes
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
