internal import CAVIF

/// Decodes AVIF through libavif: the primary image, 8/10/12-bit (converted to 8), alpha composited over white, and
/// the container's rotation and mirroring (`irot`, then `imir`), which libavif reports but leaves to the caller.
public enum AVIFDecoder {
    public static func decode(_ bytes: [UInt8], limits: DecodingLimits = DecodingLimits()) throws(ImagingError) -> RGBImage {
        guard !bytes.isEmpty else { throw .empty }
        guard let decoder = avifDecoderCreate() else { throw .corrupt(format: .avif, message: "out of memory") }
        defer { avifDecoderDestroy(decoder) }
        decoder.pointee.maxThreads = 1
        // libavif's own size limit (16384 × 16384 by default) stays as a backstop; ours is checked after parsing,
        // before any plane is decoded, so that its error names the size.
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(ImagingError) -> RGBImage in try decode(buffer, decoder: decoder, limits: limits) }
        }
        return try result.get()
    }

    private static func decode(
        _ buffer: UnsafeBufferPointer<UInt8>, decoder: UnsafeMutablePointer<avifDecoder>, limits: DecodingLimits
    ) throws(ImagingError) -> RGBImage {
        try check(avifDecoderSetIOMemory(decoder, buffer.baseAddress, buffer.count))
        try check(avifDecoderParse(decoder))
        guard let image = decoder.pointee.image else { throw .corrupt(format: .avif, message: "no image") }
        let (width, height) = (Int(image.pointee.width), Int(image.pointee.height))
        try limits.check(width: width, height: height)
        try check(avifDecoderNextImage(decoder))
        var rgb = avifRGBImage()
        avifRGBImageSetDefaults(&rgb, image)
        rgb.format = AVIF_RGB_FORMAT_RGBA
        rgb.depth = 8
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        let converted = rgba.withUnsafeMutableBufferPointer { rgba in
            rgb.pixels = rgba.baseAddress
            rgb.rowBytes = UInt32(width * 4)
            return avifImageYUVToRGB(image, &rgb)
        }
        try check(converted)
        let icc = image.pointee.icc
        let profile = icc.size > 0 && icc.size <= limits.maxColorProfileBytes && icc.data != nil
            ? Array(UnsafeBufferPointer(start: icc.data, count: icc.size)) : nil
        let stored = ColorManagement.sRGB(RGBImage(compositingOverWhite: rgba, width: width, height: height), iccProfile: profile)
        return transformed(stored, flags: image.pointee.transformFlags, rotation: Int(image.pointee.irot.angle),
                           mirror: Int(image.pointee.imir.mode))
    }

    /// `irot` turns the image `rotation` quarter turns anticlockwise; `imir` mode 0 exchanges top and bottom,
    /// mode 1 left and right. Both are expressed as the EXIF orientation that does the same.
    static func transformed(_ image: RGBImage, flags: avifTransformFlags, rotation: Int, mirror: Int) -> RGBImage {
        var result = image
        if flags & UInt32(AVIF_TRANSFORM_IROT.rawValue) != 0, rotation % 4 != 0 {
            // Anticlockwise quarter turns: one is what EXIF calls "left" (8), three "right" (6).
            let orientation: EXIFOrientation = [.up, .left, .down, .right][rotation % 4]
            result = orientation.apply(to: result)
        }
        if flags & UInt32(AVIF_TRANSFORM_IMIR.rawValue) != 0 {
            result = (mirror == 0 ? EXIFOrientation.downMirrored : .upMirrored).apply(to: result)
        }
        return result
    }

    private static func check(_ result: avifResult) throws(ImagingError) {
        guard result != AVIF_RESULT_OK else { return }
        let message = avifResultToString(result).map { String(cString: $0) } ?? "libavif error \(result.rawValue)"
        switch result {
        case AVIF_RESULT_NOT_IMPLEMENTED, AVIF_RESULT_NO_CODEC_AVAILABLE:
            throw .unsupportedVariant(format: .avif, reason: message.lowercased())
        default:
            throw .corrupt(format: .avif, message: message)
        }
    }
}
