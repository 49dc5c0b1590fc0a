import Foundation
import Testing
@testable import Imaging
import TestSupport

/// HEIC's reduced decoding: against a naive reference (every pixel converted on its own with its nearest chroma
/// sample, as libheif does, then averaged per block), and against libheif's own full-size RGB averaged per block.
@Suite(.serialized)
struct YCbCrPlanesTests {
    /// Samples of a plane, row by row, 8-bit or 16-bit little-endian.
    struct Samples {
        let width: Int
        let height: Int
        let values: [Int]
        let wide: Bool

        var bytes: [UInt8] {
            wide ? values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } : values.map { UInt8($0) }
        }
    }

    /// The naive reference: per luma pixel, the nearest chroma sample, H.273's equations in doubles, then block
    /// averages, then rounding.
    static func reference(luma: Samples, cb: Samples, cr: Samples, subsampling: (Int, Int), bits: Int, matrix: YCbCrPlanes.Matrix,
                          fullRange: Bool, factor: Int) -> [UInt8] {
        let maximum = Double((1 << bits) - 1), unit = Double(1 << (bits - 8))
        var rgb: [(Double, Double, Double)] = []
        for y in 0..<luma.height {
            for x in 0..<luma.width {
                let chroma = (y / subsampling.1) * cb.width + x / subsampling.0
                var (yy, u, v) = (Double(luma.values[y * luma.width + x]), Double(cb.values[chroma]), Double(cr.values[chroma]))
                if fullRange {
                    (yy, u, v) = (yy / maximum, (u - Double(1 << (bits - 1))) / maximum, (v - Double(1 << (bits - 1))) / maximum)
                } else {
                    (yy, u, v) = ((yy - 16 * unit) / (219 * unit), (u - 128 * unit) / (224 * unit), (v - 128 * unit) / (224 * unit))
                }
                let r = yy + 2 * (1 - matrix.kr) * v
                let b = yy + 2 * (1 - matrix.kb) * u
                let g = (yy - matrix.kr * r - matrix.kb * b) / (1 - matrix.kr - matrix.kb)
                rgb.append((r, g, b))
            }
        }
        let width = (luma.width + factor - 1) / factor, height = (luma.height + factor - 1) / factor
        var out: [UInt8] = []
        for oy in 0..<height {
            for ox in 0..<width {
                var sum = (0.0, 0.0, 0.0), count = 0.0
                for y in (oy * factor)..<min(luma.height, oy * factor + factor) {
                    for x in (ox * factor)..<min(luma.width, ox * factor + factor) {
                        let p = rgb[y * luma.width + x]
                        sum = (sum.0 + p.0, sum.1 + p.1, sum.2 + p.2)
                        count += 1
                    }
                }
                for c in [sum.0, sum.1, sum.2] { out.append(UInt8(max(0, min(255, (c / count * 255).rounded())))) }
            }
        }
        return out
    }

    @Test(arguments: [(8, true, 2), (8, false, 4), (10, true, 8), (10, false, 2)])
    func blockAveragesMatchTheNaiveReference(bits: Int, fullRange: Bool, factor: Int) {
        var generator = SeededRandom(seed: UInt64(bits * 100 + factor))
        let (width, height) = (48, 32)
        let top = (1 << bits) - 1
        func samples(_ w: Int, _ h: Int) -> Samples {
            // A smooth field plus noise, so blocks differ from one another and clamping stays rare.
            Samples(width: w, height: h, values: (0..<(w * h)).map { index in
                let base = (index % w) * top / (2 * w) + (index / w) * top / (4 * h) + top / 8
                return min(top, max(0, base + Int.random(in: -(top / 20)...(top / 20), using: &generator)))
            }, wide: bits > 8)
        }
        for (subsampling, matrix) in [((2, 2), YCbCrPlanes.Matrix.bt601), ((2, 1), .bt709), ((1, 1), .bt2020)] {
            let luma = samples(width, height)
            let cb = samples(width / subsampling.0, height / subsampling.1), cr = samples(width / subsampling.0, height / subsampling.1)
            let expected = Self.reference(luma: luma, cb: cb, cr: cr, subsampling: subsampling, bits: bits, matrix: matrix,
                                          fullRange: fullRange, factor: factor)
            let (lumaBytes, cbBytes, crBytes) = (luma.bytes, cb.bytes, cr.bytes)
            let bytesPerSample = bits > 8 ? 2 : 1
            let reduced = lumaBytes.withUnsafeBytes { l in
                cbBytes.withUnsafeBytes { u in
                    crBytes.withUnsafeBytes { v in
                        YCbCrPlanes(
                            luma: .init(base: l.baseAddress!, stride: width * bytesPerSample, width: width, height: height),
                            chroma: (.init(base: u.baseAddress!, stride: cb.width * bytesPerSample, width: cb.width, height: cb.height),
                                     .init(base: v.baseAddress!, stride: cr.width * bytesPerSample, width: cr.width, height: cr.height)),
                            subsampling: subsampling, bitsPerSample: bits, matrix: matrix, fullRange: fullRange
                        ).reducedRGB(factor: factor)
                    }
                }
            }
            #expect(reduced.width == width / factor && reduced.height == height / factor)
            // Only the order of floating-point sums differs: within one level.
            let worst = zip(reduced.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(worst <= 1, "\(bits)-bit, subsampling \(subsampling), factor \(factor): up to \(worst)")
        }
    }

    /// libheif's full-size RGB, averaged per block, against our reduced decoding of the same file (heif-enc's
    /// 4:2:0 at 8 and 10 bits, odd sizes included): the same matrix and range (a wrong one is off by tens of levels
    /// on average).
    @Test func reducedDecodingAgreesWithLibheifsFullSize() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, size, flags, sixteen) in [("eight", (321, 203), ["-q", "90"], false), ("ten", (256, 208), ["-q", "90", "-b", "10"], true)] {
            let source = TestImages.scene(seed: 41, width: size.0, height: size.1)
            let input = directory.appendingPathComponent("\(name).png"), output = directory.appendingPathComponent("\(name).heic")
            try Data(HEIFDecoderTests.png(source, sixteenBit: sixteen)).write(to: input)
            try HEIFDecoderTests.encoder.run(flags + [input.path, "-o", output.path])
            let bytes = Array(try Data(contentsOf: output))
            let full = try HEIFDecoder.decode(bytes)
            for (minimumShortSide, factor) in [(100, 2), (40, 4), (20, 8)] {
                let reduced = try ImageDecoder().decode(bytes, minimumShortSide: minimumShortSide)
                #expect(reduced.originalWidth == size.0 && reduced.originalHeight == size.1)
                #expect(reduced.image.width == (size.0 + factor - 1) / factor && reduced.image.height == (size.1 + factor - 1) / factor)
                let averaged = Self.blockAverage(full, factor: factor)
                let differences = zip(reduced.image.pixels, averaged.pixels).map { abs(Int($0) - Int($1)) }
                let mean = Double(differences.reduce(0, +)) / Double(differences.count)
                // libheif clamps each pixel before the average, we clamp the average: where coding noise pushes a
                // saturated colour out of range the two part (up to 13 levels measured, at isolated pixels).
                #expect(mean < 0.5 && differences.max()! <= 20, "\(name) ÷\(factor): mean \(mean), up to \(differences.max()!)")
            }
        }
    }

    static func blockAverage(_ image: RGBImage, factor: Int) -> RGBImage {
        let width = (image.width + factor - 1) / factor, height = (image.height + factor - 1) / factor
        var pixels: [UInt8] = []
        for oy in 0..<height {
            for ox in 0..<width {
                var sum = [0, 0, 0], count = 0
                for y in (oy * factor)..<min(image.height, oy * factor + factor) {
                    for x in (ox * factor)..<min(image.width, ox * factor + factor) {
                        let p = image[x, y]
                        sum[0] += Int(p.0); sum[1] += Int(p.1); sum[2] += Int(p.2)
                        count += 1
                    }
                }
                pixels += sum.map { UInt8((Double($0) / Double(count)).rounded()) }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
