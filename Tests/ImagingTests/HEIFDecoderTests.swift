import Foundation
import Testing
@testable import Imaging
import TestSupport

/// HEIC files written by `heif-enc` (Debian's libheif-examples, x265) from PNGs written here: 8-bit, 10-bit and
/// alpha, compared with the source within the lossy codec's tolerance (mean absolute difference per sample).
@Suite(.serialized)
struct HEIFDecoderTests {
    static let encoder = ExternalTool("heif-enc", package: "libheif-examples")

    static func png(_ image: RGBImage, alpha: [UInt8]? = nil, sixteenBit: Bool = false) -> [UInt8] {
        let channels = alpha == nil ? 3 : 4
        var samples: [Int] = []
        for pixel in 0..<(image.width * image.height) {
            for channel in 0..<3 { samples.append(Int(image.pixels[pixel * 3 + channel]) * (sixteenBit ? 257 : 1)) }
            if let alpha { samples.append(Int(alpha[pixel])) }
        }
        let writer = PNGWriter(colorType: channels == 4 ? .rgba : .rgb, bitDepth: sixteenBit ? 16 : 8)
        return writer.encode(width: image.width, height: image.height, samples: samples)
    }

    @Test func eightTenBitAndAlpha() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = TestImages.scene(seed: 31, width: 160, height: 120)
        let alpha: [UInt8] = (0..<(160 * 120)).map { (index: Int) -> UInt8 in UInt8((index % 160) * 255 / 159) }
        let cases: [(name: String, png: [UInt8], flags: [String])] = [
            ("eight", Self.png(source), ["-q", "92"]),
            ("ten", Self.png(source, sixteenBit: true), ["-q", "92", "-b", "10"]),
            ("alpha", Self.png(source, alpha: alpha), ["-q", "92"]),
        ]
        // Over white, worked out here for the alpha case.
        let composited = RGBImage(width: 160, height: 120, pixels: (0..<(160 * 120 * 3)).map { index in
            let a = Double(alpha[index / 3]) / 255
            return UInt8((Double(source.pixels[index]) * a + 255 * (1 - a)).rounded())
        })
        for (name, png, flags) in cases {
            let input = directory.appendingPathComponent("\(name).png"), output = directory.appendingPathComponent("\(name).heic")
            try Data(png).write(to: input)
            try Self.encoder.run(flags + [input.path, "-o", output.path])
            let decoded = try ImageDecoder().decode(Array(try Data(contentsOf: output)))
            #expect(decoded.format == .heic && decoded.image.width == 160 && decoded.image.height == 120, "\(name)")
            let difference = TestImages.meanAbsoluteDifference(decoded.image, name == "alpha" ? composited : source)
            #expect(difference < 5, "\(name): mean absolute difference \(difference)")
        }
    }

    /// A test scene encoded by heif-enc at `quality`.
    static func heic(seed: UInt64, width: Int, height: Int, quality: Int) throws -> [UInt8] {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("s.png"), output = directory.appendingPathComponent("s.heic")
        try Data(png(TestImages.scene(seed: seed, width: width, height: height))).write(to: input)
        try encoder.run(["-q", "\(quality)", input.path, "-o", output.path])
        return Array(try Data(contentsOf: output))
    }

    @Test func truncatedFilesAreTypedErrors() throws {
        let bytes = try Self.heic(seed: 32, width: 64, height: 48, quality: 80)
        TruncatedFiles.expectRefused(bytes, cuts: [bytes.count - 50, bytes.count / 2, 40], format: .heic)
        #expect(throws: ImagingError.tooManyPixels(width: 64, height: 48, limit: 1_000)) {
            try HEIFDecoder.decode(bytes, limits: DecodingLimits(maxPixels: 1_000))
        }
    }

    /// A box: 32-bit size, type, payload.
    static func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let size = UInt32(8 + payload.count)
        return [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)] + Array(type.utf8) + payload
    }

    /// A file with primary item 1 and the given `dimg` and `auxl` references (16-bit ids).
    static func file(references: [(from: UInt16, to: [UInt16])], auxiliary: [(from: UInt16, to: [UInt16])] = []) -> [UInt8] {
        func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
        let dimg = references.flatMap { box("dimg", u16($0.from) + u16(UInt16($0.to.count)) + $0.to.flatMap(u16)) }
        let auxl = auxiliary.flatMap { box("auxl", u16($0.from) + u16(UInt16($0.to.count)) + $0.to.flatMap(u16)) }
        let meta = box("meta", [0, 0, 0, 0] + box("pitm", [0, 0, 0, 0] + u16(1)) + box("iref", [0, 0, 0, 0] + dimg + auxl))
        return box("ftyp", Array("heic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8)) + meta
    }

    @Test func cyclicOrDeepDerivedImagesAreRefusedBeforeLibheif() throws {
        // A grid of tiles, and a grid shared by two paths, are fine.
        try HEIFReferences.check(Self.file(references: [(1, [2, 3, 4])]))
        try HEIFReferences.check(Self.file(references: [(1, [2, 3]), (2, [5]), (3, [5])]))
        #expect(throws: ImagingError.corrupt(format: .heic, message: "image 1 is derived from itself")) {
            try HEIFReferences.check(Self.file(references: [(1, [1])]))
        }
        #expect(throws: ImagingError.corrupt(format: .heic, message: "image 1 is derived from itself")) {
            try HEIFReferences.check(Self.file(references: [(1, [2]), (2, [3]), (3, [1])]))
        }
        #expect(throws: ImagingError.corrupt(format: .heic, message: "derived images nested deeper than 4 levels")) {
            try HEIFReferences.check(Self.file(references: (1..<7).map { (UInt16($0), [UInt16($0 + 1)]) }))
        }
        // An alpha image (auxl 3 → 1) is decoded with its master: a grid 3 made of 1 closes a cycle (the fuzzer's
        // second finding), an alpha made of tiles does not.
        try HEIFReferences.check(Self.file(references: [(1, [2]), (3, [4])], auxiliary: [(3, [1])]))
        #expect(throws: ImagingError.corrupt(format: .heic, message: "image 1 is derived from itself")) {
            try HEIFReferences.check(Self.file(references: [(1, [2]), (3, [1])], auxiliary: [(3, [1])]))
        }
        var overrun = Self.file(references: [(1, [2])])
        overrun[overrun.count - 11] = 0xFF  // the low byte of the dimg box's size: now larger than its iref
        #expect(throws: ImagingError.corrupt(format: .heic, message: "an item reference overruns its iref box")) {
            try HEIFReferences.check(overrun)
        }
        // Through the decoder: refused with the reason, before libheif recurses.
        #expect(throws: ImagingError.corrupt(format: .heic, message: "image 1 is derived from itself")) {
            try ImageDecoder().decode(Self.file(references: [(1, [1])]))
        }
    }

    /// A primary grid (item 1, tiles 2 and 3) whose descriptor, in `idat`, declares `width × height`.
    static func grid(width: UInt16, height: UInt16) -> [UInt8] {
        func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
        func infe(_ id: UInt16, _ type: String) -> [UInt8] { box("infe", [2, 0, 0, 0] + u16(id) + [0, 0] + Array(type.utf8) + [0]) }
        let iinf = box("iinf", [0, 0, 0, 0] + u16(3) + infe(1, "grid") + infe(2, "hvc1") + infe(3, "hvc1"))
        // iloc version 1: 4-byte offsets and lengths, no base offset; item 1 in idat (method 1) at 0, 8 bytes.
        let iloc = box("iloc", [1, 0, 0, 0, 0x44, 0x00] + u16(1) + u16(1) + u16(1) + u16(0) + u16(1) + [0, 0, 0, 0, 0, 0, 0, 8])
        let idat = box("idat", [0, 0, 0, 1] + u16(width) + u16(height))
        let dimg = box("dimg", u16(1) + u16(2) + u16(2) + u16(3))
        let meta = box("meta", [0, 0, 0, 0] + box("pitm", [0, 0, 0, 0] + u16(1)) + iinf + iloc + idat + box("iref", [0, 0, 0, 0] + dimg))
        return box("ftyp", Array("heic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8)) + meta
    }

    @Test func aGridsDeclaredCanvasIsCheckedBeforeLibheif() throws {
        try HEIFReferences.check(Self.grid(width: 100, height: 50))
        #expect(throws: ImagingError.tooManyPixels(width: 100, height: 50, limit: 1_000)) {
            try HEIFReferences.check(Self.grid(width: 100, height: 50), limits: DecodingLimits(maxPixels: 1_000))
        }
        // The fuzzer's file: a 1×1 grid whose `ispe` says 64×48 and whose descriptor says 65535×22771. It cost
        // 3.8 s and 215 MB inside libheif before this check.
        let file = ExternalTool.repositoryRoot.appendingPathComponent("Tests/FuzzTargetTests/Corpus/crashes/heic/oom-grid-canvas-beyond-ispe")
        #expect(throws: ImagingError.tooManyPixels(width: 65535, height: 22771, limit: DecodingLimits().maxPixels)) {
            try ImageDecoder().decode(Array(try Data(contentsOf: file)))
        }
    }

    /// heif-enc cannot write a rotation, so the test adds one: an `irot` property in `ipco`, associated (essential)
    /// with the primary item in `ipma`, every size on the way updated and `iloc`'s offsets into `mdat` moved along.
    /// Written for heif-enc's layout (32-bit box sizes, `mdat` after `meta`).
    static func addingRotation(_ file: [UInt8], quarterTurns: UInt8) throws -> [UInt8] {
        var bytes = file
        func u(_ at: Int, _ count: Int) -> Int { (0..<count).reduce(0) { $0 << 8 | Int(bytes[at + $1]) } }
        func put(_ value: Int, at: Int, _ count: Int) { for i in 0..<count { bytes[at + i] = UInt8(value >> (8 * (count - 1 - i)) & 0xFF) } }
        func children(_ start: Int, _ end: Int) -> [String: (at: Int, size: Int)] {
            var found: [String: (Int, Int)] = [:]
            var at = start
            while at + 8 <= end {
                let size = u(at, 4)
                found[String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)] = (at, size)
                at += size
            }
            return found
        }
        let meta = try #require(children(0, bytes.count)["meta"])
        let inMeta = children(meta.at + 12, meta.at + meta.size)
        let (pitm, iloc, iprp) = (try #require(inMeta["pitm"]), try #require(inMeta["iloc"]), try #require(inMeta["iprp"]))
        let inIprp = children(iprp.at + 8, iprp.at + iprp.size)
        let (ipco, ipma) = (try #require(inIprp["ipco"]), try #require(inIprp["ipma"]))
        let primary = u(pitm.at + 12, bytes[pitm.at + 8] == 0 ? 2 : 4)
        let propertyIndex = children(ipco.at + 8, ipco.at + ipco.size).count + 1
        let wideIndex = bytes[ipma.at + 11] & 1 != 0
        let association = wideIndex ? [UInt8(0x80 | propertyIndex >> 8), UInt8(propertyIndex & 0xFF)] : [UInt8(0x80 | propertyIndex)]
        let delta = 9 + association.count

        // iloc: every extent of every item stored in the file (construction method 0) moves by delta.
        let ilocVersion = Int(bytes[iloc.at + 8])
        var at = iloc.at + 12
        let (offsetSize, lengthSize) = (Int(bytes[at] >> 4), Int(bytes[at] & 15))
        let (baseSize, indexSize) = (Int(bytes[at + 1] >> 4), ilocVersion >= 1 ? Int(bytes[at + 1] & 15) : 0)
        at += 2
        let itemCount = u(at, ilocVersion < 2 ? 2 : 4)
        at += ilocVersion < 2 ? 2 : 4
        for _ in 0..<itemCount {
            at += ilocVersion < 2 ? 2 : 4
            var method = 0
            if ilocVersion >= 1 { method = u(at, 2) & 15; at += 2 }
            at += 2  // data reference index
            let baseAt = at
            at += baseSize
            let extents = u(at, 2)
            at += 2
            if method == 0 && baseSize > 0 { put(u(baseAt, baseSize) + delta, at: baseAt, baseSize) }
            for _ in 0..<extents {
                at += indexSize
                if method == 0 && baseSize == 0 { put(u(at, offsetSize) + delta, at: at, offsetSize) }
                at += offsetSize + lengthSize
            }
        }

        // ipma: one more association for the primary item.
        let ipmaVersion = Int(bytes[ipma.at + 8])
        at = ipma.at + 12
        let entries = u(at, 4)
        at += 4
        var inserted = false
        for _ in 0..<entries {
            let item = u(at, ipmaVersion < 1 ? 2 : 4)
            at += ipmaVersion < 1 ? 2 : 4
            let count = Int(bytes[at])
            if item == primary {
                bytes[at] += 1
                bytes.insert(contentsOf: association, at: at + 1 + count * association.count)
                inserted = true
            }
            at += 1 + count * association.count + (item == primary ? association.count : 0)
        }
        #expect(inserted)
        put(ipma.size + association.count, at: ipma.at, 4)
        // ipco: the irot property at its end; then the enclosing sizes.
        bytes.insert(contentsOf: Self.box("irot", [quarterTurns]), at: ipco.at + ipco.size)
        put(ipco.size + 9, at: ipco.at, 4)
        put(iprp.size + delta, at: iprp.at, 4)
        put(meta.size + delta, at: meta.at, 4)
        return bytes
    }

    @Test func theContainersRotationIsApplied() throws {
        let plain = try Self.heic(seed: 33, width: 96, height: 64, quality: 90)
        let stored = try ImageDecoder().decode(plain).image
        // irot counts quarter turns anticlockwise; EXIF orientation 8 shows the stored image turned a quarter
        // anticlockwise, 3 a half turn, 6 a quarter clockwise.
        for (turns, orientation) in [(UInt8(1), EXIFOrientation.left), (2, .down), (3, .right)] {
            let rotated = try ImageDecoder().decode(Self.addingRotation(plain, quarterTurns: turns))
            let expected = orientation.apply(to: stored)
            #expect(rotated.image == expected, "irot \(turns): \(rotated.image.width)×\(rotated.image.height)")
            #expect(rotated.originalWidth == expected.width && rotated.originalHeight == expected.height)
        }
    }
}
