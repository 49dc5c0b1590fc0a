internal import CPNG

/// Decodes PNG through libpng's simplified `png_image` API, which needs no `setjmp`.
///
/// Every PNG colour type and bit depth (palette, gray, gray+alpha, RGB, RGBA, 16-bit, interlaced) comes out as
/// 8-bit RGB; transparent pixels are composited over white, because product photos are cut-outs on white.
public enum PNGDecoder {
    /// Decodes `bytes`, checking the header's size against `limits` before allocating the pixels.
    public static func decode(_ bytes: [UInt8], limits: DecodingLimits = DecodingLimits()) throws(ImagingError)
        -> RGBImage
    {
        guard !bytes.isEmpty else { throw .empty }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        let began = bytes.withUnsafeBufferPointer { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard began != 0 else { throw .corrupt(format: .png, message: message(of: &image)) }
        defer { png_image_free(&image) }

        let width = Int(image.width)
        let height = Int(image.height)
        try limits.check(width: width, height: height)

        let isSixteenBit = image.format & png_uint_32(PNG_FORMAT_FLAG_LINEAR) != 0
        if isSixteenBit && !hasColorSpaceChunk(bytes) {
            return try decodeUntaggedSixteenBit(&image, width: width, height: height)  // untagged: sRGB
        }
        image.format = png_uint_32(PNG_FORMAT_RGB)
        var white = png_color(red: 255, green: 255, blue: 255)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let finished = pixels.withUnsafeMutableBufferPointer {
            png_image_finish_read(&image, &white, $0.baseAddress, 0, nil)
        }
        guard finished != 0 else { throw .corrupt(format: .png, message: message(of: &image)) }
        let profile = EmbeddedColorProfile.inPNG(bytes, limit: limits.maxColorProfileBytes)
        return ColorManagement.sRGB(RGBImage(width: width, height: height, pixels: pixels), iccProfile: profile)
    }

    /// libpng's simplified API treats 16-bit samples without colour-space information as linear light and
    /// gamma-encodes them when producing 8-bit output, which brightens them. Browsers and other decoders treat
    /// untagged files as sRGB, so for those we read the raw 16-bit values (libpng leaves "linear" data as is,
    /// premultiplied by alpha), composite over white and keep the high-order precision ourselves.
    private static func decodeUntaggedSixteenBit(_ image: inout png_image, width: Int, height: Int)
        throws(ImagingError) -> RGBImage
    {
        image.format = png_uint_32(PNG_FORMAT_FLAG_LINEAR | PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        var wide = [UInt16](repeating: 0, count: width * height * 4)
        let finished = wide.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, 0, nil)
        }
        guard finished != 0 else { throw .corrupt(format: .png, message: message(of: &image)) }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for index in 0..<(width * height) {
            let alpha = UInt32(wide[index * 4 + 3])
            for channel in 0..<3 {
                let composited = UInt32(wide[index * 4 + channel]) + (65535 - alpha)  // premultiplied, over white
                pixels[index * 3 + channel] = UInt8((min(composited, 65535) * 255 + 32767) / 65535)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Whether the chunks before the image data carry colour-space information (gAMA, sRGB, iCCP, cHRM).
    /// Reads chunk headers only, bounded by the buffer.
    static func hasColorSpaceChunk(_ bytes: [UInt8]) -> Bool {
        var found = false
        PNGChunks.forEachBeforeImageData(in: bytes) { type, _ in
            found = ["gAMA", "sRGB", "iCCP", "cHRM"].contains(String(decoding: type, as: UTF8.self))
            return !found
        }
        return found
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let text = raw.prefix(while: { $0 != 0 })
            return text.isEmpty ? "unknown libpng error" : String(decoding: text, as: UTF8.self)
        }
    }
}
