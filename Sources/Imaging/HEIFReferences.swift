/// The derived-image references of a HEIF file (`meta` → `pitm` and `iref`/`dimg`) and the canvas size of each
/// derived image, read before libheif sees the file. libheif 1.15 follows the references recursively without a
/// depth check, so a file whose grid lists itself as a tile overflows the stack (found by the fuzzer: 604 bytes);
/// and it allocates a grid's or overlay's canvas at the size its descriptor declares, which need not match the
/// `ispe` size the image reports (a 987-byte file declared 65535×22771 behind 64×48 and cost 3.8 s and 215 MB).
/// Only the boxes needed for that are parsed, every length checked against its parent.
enum HEIFReferences {
    /// The deepest chain of derived images accepted (a grid of tiles is 1; an identity transform of a grid 2).
    static let maxDepth = 4

    /// Throws when the primary image's `dimg` references form a cycle or a chain deeper than ``maxDepth``, or
    /// when a grid or overlay on the way declares a canvas over the pixel limit.
    static func check(_ bytes: [UInt8], limits: DecodingLimits = DecodingLimits()) throws(ImagingError) {
        guard let meta = box("meta", in: bytes[...]) else { return }
        let children = meta.dropFirst(4)  // version and flags
        guard let primary = primaryItem(children) else { return }
        let edges = try decodingDependencies(children)
        let types = itemTypes(children)
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
            if let type = types[item], type == "grid" || type == "iovl" {
                guard let canvas = canvasSize(of: item, type: type, meta: children, file: bytes[...]) else {
                    throw .corrupt(format: .heic, message: "the \(type) image \(item) has no readable description")
                }
                try limits.check(width: canvas.width, height: canvas.height)
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

    /// What decoding an item makes libheif decode as well: a derived item's `dimg` sources, and the auxiliary
    /// images (alpha, depth) whose `auxl` reference names it. The second fuzzer finding was a cycle through both:
    /// grid 2's alpha was grid 4, made of grid 2. A reference box that does not fit its parent is refused, since
    /// libheif reads such boxes anyway.
    private static func decodingDependencies(_ meta: ArraySlice<UInt8>) throws(ImagingError) -> [UInt32: [UInt32]] {
        guard let iref = box("iref", in: meta), iref.count >= 4 else { return [:] }
        let wide = iref[iref.startIndex] != 0
        let idSize = wide ? 4 : 2
        func id(_ at: Int) -> UInt32 { wide ? u32(iref, at) : UInt32(u16(iref, at)) }
        var edges: [UInt32: [UInt32]] = [:]
        var offset = iref.startIndex + 4
        while iref.endIndex - offset >= 8 {
            let size = Int(u32(iref, offset))
            guard size >= 8, size <= iref.endIndex - offset else {
                throw .corrupt(format: .heic, message: "an item reference overruns its iref box")
            }
            let end = offset + size
            let type = iref[(offset + 4)..<(offset + 8)]
            let isSource = type.elementsEqual("dimg".utf8), isAuxiliary = type.elementsEqual("auxl".utf8)
            if isSource || isAuxiliary, end - (offset + 8) >= idSize + 2 {
                let from = id(offset + 8)
                let count = Int(u16(iref, offset + 8 + idSize))
                guard count * idSize <= end - (offset + 10 + idSize) else {
                    throw .corrupt(format: .heic, message: "an item reference lists more items than its box holds")
                }
                var at = offset + 10 + idSize
                for _ in 0..<count {
                    if isSource { edges[from, default: []].append(id(at)) } else { edges[id(at), default: []].append(from) }
                    at += idSize
                }
            }
            offset = end
        }
        return edges
    }

    /// Item id → item type (`infe` versions 2 and 3, the ones that carry a type).
    private static func itemTypes(_ meta: ArraySlice<UInt8>) -> [UInt32: String] {
        guard let iinf = box("iinf", in: meta), iinf.count >= 6 else { return [:] }
        var offset = iinf.startIndex + (iinf[iinf.startIndex] == 0 ? 6 : 8)
        var types: [UInt32: String] = [:]
        while iinf.endIndex - offset >= 8 {
            let size = Int(u32(iinf, offset))
            guard size >= 8, size <= iinf.endIndex - offset else { break }
            let infe = iinf[(offset + 8)..<(offset + size)]
            if iinf[(offset + 4)..<(offset + 8)].elementsEqual("infe".utf8), let version = infe.first, version >= 2 {
                let idSize = version == 2 ? 2 : 4
                let typeAt = infe.startIndex + 4 + idSize + 2
                if infe.endIndex - typeAt >= 4 {
                    let id = idSize == 2 ? UInt32(u16(infe, infe.startIndex + 4)) : u32(infe, infe.startIndex + 4)
                    types[id] = String(decoding: infe[typeAt..<(typeAt + 4)], as: UTF8.self)
                }
            }
            offset += size
        }
        return types
    }

    /// The output size a grid (`ImageGrid`) or overlay (`ImageOverlay`) descriptor declares: its item's first extent,
    /// in `idat` (construction method 1) or in the file (method 0).
    private static func canvasSize(of item: UInt32, type: String, meta: ArraySlice<UInt8>, file: ArraySlice<UInt8>)
        -> (width: Int, height: Int)?
    {
        guard let location = firstExtent(of: item, meta: meta) else { return nil }
        let source: ArraySlice<UInt8>
        switch location.method {
        case 0: source = file
        case 1: guard let idat = box("idat", in: meta) else { return nil }; source = idat
        default: return nil
        }
        guard location.offset >= 0, location.offset < source.count else { return nil }
        let descriptor = source.dropFirst(location.offset).prefix(max(0, location.length))
        guard descriptor.count >= 2 else { return nil }
        let wide = descriptor[descriptor.startIndex + 1] & 1 != 0
        // grid: version, flags, rows − 1, columns − 1; iovl: version, flags, four 16-bit fill values.
        let sizeAt = descriptor.startIndex + (type == "grid" ? 4 : 10)
        let fieldSize = wide ? 4 : 2
        guard descriptor.endIndex - sizeAt >= 2 * fieldSize else { return nil }
        func field(_ at: Int) -> Int { wide ? Int(u32(descriptor, at)) : Int(u16(descriptor, at)) }
        return (field(sizeAt), field(sizeAt + fieldSize))
    }

    /// Where item `item`'s data begins, from `iloc` (versions 0–2).
    private static func firstExtent(of item: UInt32, meta: ArraySlice<UInt8>) -> (method: Int, offset: Int, length: Int)? {
        guard let iloc = box("iloc", in: meta), iloc.count >= 8 else { return nil }
        let version = Int(iloc[iloc.startIndex])
        guard version <= 2 else { return nil }
        var at = iloc.startIndex + 4
        func read(_ size: Int) -> Int? {
            guard size >= 0, size <= 8, iloc.endIndex - at >= size else { return nil }
            defer { at += size }
            return (0..<size).reduce(0) { $0 << 8 | Int(iloc[at + $1]) }
        }
        guard let sizes = read(1), let more = read(1) else { return nil }
        let (offsetSize, lengthSize, baseSize) = (sizes >> 4, sizes & 15, more >> 4)
        let indexSize = version >= 1 ? more & 15 : 0
        guard [0, 4, 8].contains(offsetSize), [0, 4, 8].contains(lengthSize), [0, 4, 8].contains(baseSize),
              let count = read(version < 2 ? 2 : 4) else { return nil }
        for _ in 0..<count {
            guard let id = read(version < 2 ? 2 : 4) else { return nil }
            var method = 0
            if version >= 1 { guard let value = read(2) else { return nil }; method = value & 15 }
            guard read(2) != nil, let base = read(baseSize), let extents = read(2) else { return nil }
            var first: (Int, Int)?
            for _ in 0..<extents {
                guard read(indexSize) != nil, let offset = read(offsetSize), let length = read(lengthSize) else { return nil }
                if first == nil { first = (offset, length) }
            }
            if UInt32(truncatingIfNeeded: id) == item, let first {
                let (offset, overflow) = base.addingReportingOverflow(first.0)
                return overflow ? nil : (method, offset, first.1 == 0 ? Int.max : first.1)
            }
        }
        return nil
    }

    private static func u16(_ data: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
        UInt16(data[at]) << 8 | UInt16(data[at + 1])
    }

    private static func u32(_ data: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
        UInt32(data[at]) << 24 | UInt32(data[at + 1]) << 16 | UInt32(data[at + 2]) << 8 | UInt32(data[at + 3])
    }
}
