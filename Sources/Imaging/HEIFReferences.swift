/// The derived-image references of a HEIF file (`meta` → `pitm` and `iref`/`dimg`), read before libheif sees the
/// file: libheif 1.15 follows them recursively without a depth check, so a file whose grid lists itself as a tile
/// overflows the stack (found by the fuzzer: 604 bytes). Only the boxes needed for that are parsed, every length
/// checked against its parent.
enum HEIFReferences {
    /// The deepest chain of derived images accepted (a grid of tiles is 1; an identity transform of a grid 2).
    static let maxDepth = 4

    /// Throws when the primary image's `dimg` references form a cycle or a chain deeper than ``maxDepth``.
    static func check(_ bytes: [UInt8]) throws(ImagingError) {
        guard let meta = box("meta", in: bytes[...]) else { return }
        let children = meta.dropFirst(4)  // version and flags
        guard let primary = primaryItem(children) else { return }
        let edges = derivedImages(children)
        // Depth-first from the primary item; a node met again on the current path is a cycle. Shared tiles are
        // visited once per path, so the walk is capped as well.
        var path: Set<UInt32> = []
        var visits = 0
        func visit(_ item: UInt32, depth: Int) throws(ImagingError) {
            visits += 1
            guard visits <= 100_000 else { throw .corrupt(format: .heic, message: "too many derived image references") }
            guard depth <= maxDepth else {
                throw .corrupt(format: .heic, message: "derived images nested deeper than \(maxDepth) levels")
            }
            guard path.insert(item).inserted else {
                throw .corrupt(format: .heic, message: "image \(item) is derived from itself")
            }
            for next in edges[item] ?? [] { try visit(next, depth: depth + 1) }
            path.remove(item)
        }
        try visit(primary, depth: 0)
    }

    /// The payload of the first box of `type` among the boxes in `data` (not descending).
    static func box(_ type: String, in data: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var offset = data.startIndex
        while data.endIndex - offset >= 8 {
            var size = Int(u32(data, offset))
            var header = 8
            if size == 1 {
                guard data.endIndex - offset >= 16 else { return nil }
                let large = UInt64(u32(data, offset + 8)) << 32 | UInt64(u32(data, offset + 12))
                guard large <= UInt64(data.endIndex - offset) else { return nil }
                size = Int(large)
                header = 16
            } else if size == 0 {
                size = data.endIndex - offset
            }
            guard size >= header, size <= data.endIndex - offset else { return nil }
            if data[(offset + 4)..<(offset + 8)].elementsEqual(type.utf8) {
                return data[(offset + header)..<(offset + size)]
            }
            offset += size
        }
        return nil
    }

    private static func primaryItem(_ meta: ArraySlice<UInt8>) -> UInt32? {
        guard let pitm = box("pitm", in: meta), pitm.count >= 6 else { return nil }
        let version = pitm[pitm.startIndex]
        if version == 0 { return UInt32(u16(pitm, pitm.startIndex + 4)) }
        return pitm.count >= 8 ? u32(pitm, pitm.startIndex + 4) : nil
    }

    /// `dimg` references: derived item → the items it is made from.
    private static func derivedImages(_ meta: ArraySlice<UInt8>) -> [UInt32: [UInt32]] {
        guard let iref = box("iref", in: meta), iref.count >= 4 else { return [:] }
        let wide = iref[iref.startIndex] != 0
        let idSize = wide ? 4 : 2
        func id(_ at: Int) -> UInt32 { wide ? u32(iref, at) : UInt32(u16(iref, at)) }
        var edges: [UInt32: [UInt32]] = [:]
        var offset = iref.startIndex + 4
        while iref.endIndex - offset >= 8 {
            let size = Int(u32(iref, offset))
            guard size >= 8, size <= iref.endIndex - offset else { break }
            let end = offset + size
            if iref[(offset + 4)..<(offset + 8)].elementsEqual("dimg".utf8), end - (offset + 8) >= idSize + 2 {
                let from = id(offset + 8)
                let count = Int(u16(iref, offset + 8 + idSize))
                var at = offset + 10 + idSize
                for _ in 0..<count where end - at >= idSize {
                    edges[from, default: []].append(id(at))
                    at += idSize
                }
            }
            offset = end
        }
        return edges
    }

    private static func u16(_ data: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
        UInt16(data[at]) << 8 | UInt16(data[at + 1])
    }

    private static func u32(_ data: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
        UInt32(data[at]) << 24 | UInt32(data[at + 1]) << 16 | UInt32(data[at + 2]) << 8 | UInt32(data[at + 3])
    }
}
