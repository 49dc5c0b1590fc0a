/// Decodes Windows bitmaps with a parser of our own (no library needed): the core, info and V4/V5 headers;
/// 1-, 4- and 8-bit palettes; 16-, 24- and 32-bit pixels, with bit-field masks; bottom-up and top-down rows;
/// alpha (a 32-bit alpha mask) composited over white. Run-length compressed and embedded JPEG/PNG bitmaps are an
/// ``ImagingError/unsupportedVariant(format:reason:)``.
///
/// Every size and offset is checked against the data before anything is allocated for the pixels.
public enum BMPDecoder {
    public static func decode(_ bytes: [UInt8], limits: DecodingLimits = DecodingLimits()) throws(ImagingError) -> RGBImage {
        let header = try Header(bytes)
        try limits.check(width: header.width, height: header.height)
        let stride = (header.width * header.bitsPerPixel + 31) / 32 * 4
        // The rows must all be in the file before a byte is allocated for them.
        let (needed, overflow) = stride.multipliedReportingOverflow(by: header.height)
        guard !overflow, header.pixelOffset <= bytes.count, needed <= bytes.count - header.pixelOffset else {
            throw .corrupt(format: .bmp, message: "truncated: the pixel rows need \(needed) bytes from offset \(header.pixelOffset)")
        }
        var pixels = [UInt8](repeating: 0, count: header.width * header.height * 3)
        bytes.withUnsafeBufferPointer { bytes in
            pixels.withUnsafeMutableBufferPointer { pixels in
                for row in 0..<header.height {
                    let y = header.topDown ? row : header.height - 1 - row
                    let source = header.pixelOffset + row * stride
                    for x in 0..<header.width {
                        let (r, g, b) = header.color(at: x, rowStart: source, in: bytes)
                        let offset = (y * header.width + x) * 3
                        pixels[offset] = r
                        pixels[offset + 1] = g
                        pixels[offset + 2] = b
                    }
                }
            }
        }
        return RGBImage(width: header.width, height: header.height, pixels: pixels)
    }

    /// What the file and DIB headers say, validated.
    struct Header {
        var width = 0, height = 0, topDown = false
        var bitsPerPixel = 0
        var pixelOffset = 0
        /// RGB triples for palette formats.
        var palette: [(UInt8, UInt8, UInt8)] = []
        /// Channel masks for 16- and 32-bit pixels (alpha 0: opaque).
        var masks: (red: UInt32, green: UInt32, blue: UInt32, alpha: UInt32) = (0, 0, 0, 0)

        init(_ bytes: [UInt8]) throws(ImagingError) {
            func u16(_ at: Int) throws(ImagingError) -> Int {
                guard at >= 0, at + 2 <= bytes.count else { throw .corrupt(format: .bmp, message: "truncated header") }
                return Int(bytes[at]) | Int(bytes[at + 1]) << 8
            }
            func u32(_ at: Int) throws(ImagingError) -> UInt32 {
                guard at >= 0, at + 4 <= bytes.count else { throw .corrupt(format: .bmp, message: "truncated header") }
                return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            }
            guard bytes.count >= 2, bytes[0] == 0x42, bytes[1] == 0x4D else { throw .corrupt(format: .bmp, message: "no 'BM' signature") }
            pixelOffset = Int(try u32(10))
            let headerSize = Int(try u32(14))
            var compression: UInt32 = 0
            var paletteEntrySize = 4, colorsUsed = 0
            switch headerSize {
            case 12:
                width = try u16(18)
                height = try u16(20)
                bitsPerPixel = try u16(24)
                paletteEntrySize = 3
            case 40, 52, 56, 108, 124:
                width = Int(Int32(bitPattern: try u32(18)))
                let signedHeight = Int(Int32(bitPattern: try u32(22)))
                guard signedHeight != Int(Int32.min) else { throw .invalidDimensions(width: width, height: signedHeight) }
                topDown = signedHeight < 0
                height = abs(signedHeight)
                bitsPerPixel = try u16(28)
                compression = try u32(30)
                colorsUsed = Int(try u32(46))
            default:
                throw .unsupportedVariant(format: .bmp, reason: "a \(headerSize)-byte DIB header")
            }
            guard width > 0, height > 0 else { throw .invalidDimensions(width: width, height: topDown ? -height : height) }
            switch compression {
            case 0: break  // BI_RGB
            case 3, 6:  // BI_BITFIELDS, BI_ALPHABITFIELDS: the masks follow an info header, or sit inside a V2+ one
                guard bitsPerPixel == 16 || bitsPerPixel == 32 else {
                    throw .corrupt(format: .bmp, message: "bit-field masks on \(bitsPerPixel)-bit pixels")
                }
                masks = (try u32(54), try u32(58), try u32(62), compression == 6 || headerSize >= 56 ? try u32(66) : 0)
            case 1, 2: throw .unsupportedVariant(format: .bmp, reason: "run-length compression (RLE\(compression == 1 ? 8 : 4))")
            case 4, 5: throw .unsupportedVariant(format: .bmp, reason: "an embedded \(compression == 4 ? "JPEG" : "PNG") bitmap")
            default: throw .unsupportedVariant(format: .bmp, reason: "compression type \(compression)")
            }
            switch bitsPerPixel {
            case 1, 4, 8:
                let entries = colorsUsed == 0 ? 1 << bitsPerPixel : colorsUsed
                guard entries <= 1 << bitsPerPixel else { throw .corrupt(format: .bmp, message: "\(entries) palette entries for \(bitsPerPixel)-bit pixels") }
                let start = 14 + headerSize
                guard start + entries * paletteEntrySize <= bytes.count else { throw .corrupt(format: .bmp, message: "truncated palette") }
                // Indices past a short palette show black, as Windows draws them.
                palette = (0..<(1 << bitsPerPixel)).map { index in
                    guard index < entries else { return (0, 0, 0) }
                    let at = start + index * paletteEntrySize
                    return (bytes[at + 2], bytes[at + 1], bytes[at])
                }
            case 16:
                if compression == 0 { masks = (0x7C00, 0x03E0, 0x001F, 0) }
            case 24:
                break
            case 32:
                if compression == 0 { masks = (0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0) }
            default:
                throw .corrupt(format: .bmp, message: "\(bitsPerPixel) bits per pixel")
            }
        }

        /// The colour at column `x` of the row starting at `rowStart`, alpha composited over white.
        @inline(__always)
        func color(at x: Int, rowStart: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (UInt8, UInt8, UInt8) {
            switch bitsPerPixel {
            case 1, 4, 8:
                let bitOffset = x * bitsPerPixel
                let byte = bytes[rowStart + bitOffset / 8]
                let index = Int(byte >> UInt8(8 - bitsPerPixel - bitOffset % 8)) & ((1 << bitsPerPixel) - 1)
                return palette[index]
            case 24:
                let at = rowStart + x * 3
                return (bytes[at + 2], bytes[at + 1], bytes[at])
            default:
                let at = rowStart + x * bitsPerPixel / 8
                var value = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8
                if bitsPerPixel == 32 { value |= UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24 }
                let (r, g, b) = (Self.channel(value, masks.red), Self.channel(value, masks.green), Self.channel(value, masks.blue))
                guard masks.alpha != 0 else { return (r, g, b) }
                let alpha = UInt32(Self.channel(value, masks.alpha))
                func over(_ c: UInt8) -> UInt8 { UInt8((UInt32(c) * alpha + 255 * (255 - alpha) + 127) / 255) }
                return (over(r), over(g), over(b))
            }
        }

        /// The bits of `value` under `mask`, scaled to 0...255 (a 5-bit 31 is 255). Scaling by the shifted mask
        /// itself keeps even a mask with holes in range.
        @inline(__always)
        static func channel(_ value: UInt32, _ mask: UInt32) -> UInt8 {
            guard mask != 0 else { return 0 }
            let shift = UInt32(mask.trailingZeroBitCount)
            let maximum = UInt64(mask >> shift), shifted = UInt64((value & mask) >> shift)
            return UInt8((shifted * 255 + maximum / 2) / maximum)
        }
    }
}
