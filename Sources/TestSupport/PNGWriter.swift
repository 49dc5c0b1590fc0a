/// A small, independent PNG encoder for making test images in code.
///
/// It writes real PNG files of any colour type, bit depth and interlacing, with zlib "stored" (uncompressed)
/// deflate blocks, so tests exercise libpng on inputs that libpng itself did not produce.
public struct PNGWriter {
    public enum ColorType: UInt8 { case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6 }

    public var colorType: ColorType
    public var bitDepth: Int
    public var interlaced: Bool
    /// Palette entries (RGB) for `.palette`, and optional per-entry alpha (tRNS).
    public var palette: [(UInt8, UInt8, UInt8)] = []
    public var paletteAlpha: [UInt8] = []

    public init(colorType: ColorType, bitDepth: Int = 8, interlaced: Bool = false) {
        self.colorType = colorType
        self.bitDepth = bitDepth
        self.interlaced = interlaced
    }

    var channels: Int {
        switch colorType {
        case .gray, .palette: return 1
        case .grayAlpha: return 2
        case .rgb: return 3
        case .rgba: return 4
        }
    }

    /// Encodes `samples`: `width × height × channels` values, each below `1 << bitDepth`, row-major.
    public func encode(width: Int, height: Int, samples: [Int]) -> [UInt8] {
        precondition(samples.count == width * height * channels, "sample count does not match the image size")
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian32(UInt32(width)) + bigEndian32(UInt32(height))
        header += [UInt8(bitDepth), colorType.rawValue, 0, 0, interlaced ? 1 : 0]
        appendChunk("IHDR", header, to: &out)
        if colorType == .palette {
            appendChunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }, to: &out)
            if !paletteAlpha.isEmpty { appendChunk("tRNS", paletteAlpha, to: &out) }
        }
        var raw: [UInt8] = []
        if interlaced {
            // Adam7 passes: (x start, y start, x step, y step).
            let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            for (x0, y0, dx, dy) in passes {
                let columns = Array(stride(from: x0, to: width, by: dx))
                guard !columns.isEmpty else { continue }
                for y in stride(from: y0, to: height, by: dy) {
                    raw += scanline(columns.map { x in Array(samples[(y * width + x) * channels..<(y * width + x + 1) * channels]) })
                }
            }
        } else {
            for y in 0..<height {
                raw += scanline((0..<width).map { x in Array(samples[(y * width + x) * channels..<(y * width + x + 1) * channels]) })
            }
        }
        appendChunk("IDAT", zlibStored(raw), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    private func scanline(_ pixels: [[Int]]) -> [UInt8] {
        var line: [UInt8] = [0]  // filter type None
        var accumulator = 0
        var bits = 0
        for pixel in pixels {
            for sample in pixel {
                if bitDepth == 16 {
                    line += [UInt8(sample >> 8), UInt8(sample & 0xFF)]
                } else if bitDepth == 8 {
                    line.append(UInt8(sample))
                } else {
                    accumulator = (accumulator << bitDepth) | sample
                    bits += bitDepth
                    if bits == 8 { line.append(UInt8(accumulator)); accumulator = 0; bits = 0 }
                }
            }
        }
        if bits > 0 { line.append(UInt8(accumulator << (8 - bits))) }
        return line
    }

    private func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        out += bigEndian32(UInt32(data.count)) + typeBytes + data
        out += bigEndian32(CRC32.checksum(typeBytes + data))
    }

    private func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out += [final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<offset + length]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return out + bigEndian32(b << 16 | a)
    }
}

func bigEndian32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

/// CRC-32 (ISO 3309), as PNG chunks use.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
