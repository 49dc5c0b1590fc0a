internal import CTIFF
import Glibc

/// Decodes a TIFF's first page through libtiff's RGBA interface, which covers RGB, greyscale, palette, CMYK
/// (naive inversion) and YCbCr at 1–16 bits per sample, in strips or tiles, with any of libtiff's compressions;
/// alpha is composited over white and the orientation tag applied.
///
/// libtiff reads from memory through callbacks, with its single-allocation ceiling set from the pixel limit and
/// its messages captured per file instead of printed.
public enum TIFFDecoder {
    public static func decode(_ bytes: [UInt8], limits: DecodingLimits = DecodingLimits()) throws(ImagingError) -> RGBImage {
        guard !bytes.isEmpty else { throw .empty }
        let source = Source(bytes: bytes)
        let message = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
        message.initialize(repeating: 0, count: 256)
        defer { message.deallocate() }
        func failure(_ fallback: String) -> ImagingError {
            let text = String(cString: message)
            return .corrupt(format: .tiff, message: text.isEmpty ? fallback : text)
        }
        return try withExtendedLifetime(source) { () throws(ImagingError) -> RGBImage in
            guard let options = TIFFOpenOptionsAlloc() else { throw .corrupt(format: .tiff, message: "out of memory") }
            defer { TIFFOpenOptionsFree(options) }
            // No single allocation larger than the decoded page may need (RGBA at the pixel limit), whatever the
            // file's tags claim.
            TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(max(64 << 20, limits.maxPixels * 4)))
            lookalike_tiff_capture_messages(options, message)
            guard let tiff = TIFFClientOpenExt(
                "upload", "rm", Unmanaged.passUnretained(source).toOpaque(),
                Source.read, Source.write, Source.seek, Source.close, Source.size, Source.map, Source.unmap, options)
            else { throw failure("not a readable TIFF") }
            defer { TIFFClose(tiff) }
            var width: UInt32 = 0, height: UInt32 = 0
            guard lookalike_tiff_size(tiff, &width, &height) != 0 else { throw failure("no image size") }
            try limits.check(width: Int(width), height: Int(height))
            var reason = [CChar](repeating: 0, count: 1024)
            guard TIFFRGBAImageOK(tiff, &reason) != 0 else {
                throw .unsupportedVariant(format: .tiff, reason: String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased())
            }
            // Read in the stored orientation (no flips by libtiff, which cannot transpose), then turn it upright
            // with the same code as EXIF: TIFF's orientation tag numbers the eight cases as EXIF does.
            let orientation = lookalike_tiff_orientation(tiff)
            let upright = EXIFOrientation(rawValue: Int(orientation)) ?? .up
            var profileData: UnsafeRawPointer? = nil
            let profileSize = Int(lookalike_tiff_icc_profile(tiff, &profileData))
            let profile = profileData.flatMap { data in
                profileSize > 0 && profileSize <= limits.maxColorProfileBytes
                    ? Array(UnsafeRawBufferPointer(start: data, count: profileSize)) : nil
            }
            if lookalike_tiff_is_plain_cmyk8(tiff) != 0, profile != nil {
                let cmyk = try readScanlines(tiff, width: Int(width), height: Int(height), channels: 4, failure: failure)
                if let stored = ColorManagement.sRGB(cmyk: cmyk, width: Int(width), height: Int(height), inverted: false, iccProfile: profile) {
                    return upright.apply(to: stored)
                }
            }
            let count = Int(width) * Int(height)
            var raster = [UInt32](repeating: 0, count: count)
            let read = raster.withUnsafeMutableBufferPointer {
                TIFFReadRGBAImageOriented(tiff, width, height, $0.baseAddress, Int32(orientation), 1)
            }
            guard read != 0 else { throw failure("the image data could not be read") }
            // ABGR words, premultiplied by alpha: over white is c + (255 − a).
            let pixels = [UInt8](unsafeUninitializedCapacity: count * 3) { pixels, initialized in
                raster.withUnsafeBufferPointer { raster in
                    for index in 0..<count {
                        let word = raster[index]
                        let lift = 255 - (word >> 24)
                        pixels[index * 3] = UInt8(min(255, (word & 0xFF) + lift))
                        pixels[index * 3 + 1] = UInt8(min(255, (word >> 8 & 0xFF) + lift))
                        pixels[index * 3 + 2] = UInt8(min(255, (word >> 16 & 0xFF) + lift))
                    }
                }
                initialized = count * 3
            }
            let stored = RGBImage(width: Int(width), height: Int(height), pixels: pixels)
            return upright.apply(to: ColorManagement.sRGB(stored, iccProfile: profile))
        }
    }

    /// The page's samples as stored, row after row (strips of interleaved 8-bit samples, any compression).
    private static func readScanlines(
        _ tiff: OpaquePointer, width: Int, height: Int, channels: Int, failure: (String) -> ImagingError
    ) throws(ImagingError) -> [UInt8] {
        let rowBytes = width * channels
        guard Int(TIFFScanlineSize64(tiff)) == rowBytes else { throw failure("the scanline size does not match the image") }
        var samples = [UInt8](repeating: 0, count: rowBytes * height)
        let complete = samples.withUnsafeMutableBytes { samples in
            (0..<height).allSatisfy { row in TIFFReadScanline(tiff, samples.baseAddress! + row * rowBytes, UInt32(row), 0) == 1 }
        }
        guard complete else { throw failure("the image data could not be read") }
        return samples
    }

    /// The bytes libtiff reads through its callbacks.
    private final class Source {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        static func from(_ handle: thandle_t?) -> Source { Unmanaged<Source>.fromOpaque(handle!).takeUnretainedValue() }

        static let read: TIFFReadWriteProc = { handle, buffer, wanted in
            let source = Source.from(handle)
            guard let buffer, wanted > 0, source.position < source.bytes.count else { return 0 }
            let count = min(Int(wanted), source.bytes.count - source.position)
            source.bytes.withUnsafeBytes { bytes in
                buffer.copyMemory(from: bytes.baseAddress! + source.position, byteCount: count)
            }
            source.position += count
            return tmsize_t(count)
        }
        static let write: TIFFReadWriteProc = { _, _, _ in -1 }
        static let seek: TIFFSeekProc = { handle, offset, whence in
            let source = Source.from(handle)
            let base: Int
            switch whence {
            case SEEK_SET: base = 0
            case SEEK_CUR: base = source.position
            case SEEK_END: base = source.bytes.count
            default: return toff_t.max
            }
            // Offsets are unsigned; a "negative" one relative to the current position arrives wrapped.
            let (target, overflow) = base.addingReportingOverflow(Int(truncatingIfNeeded: offset))
            guard !overflow, target >= 0 else { return toff_t.max }
            source.position = target
            return toff_t(target)
        }
        static let close: TIFFCloseProc = { _ in 0 }
        static let size: TIFFSizeProc = { handle in toff_t(Source.from(handle).bytes.count) }
        static let map: TIFFMapFileProc = { _, _, _ in 0 }
        static let unmap: TIFFUnmapFileProc = { _, _, _ in }
    }
}
