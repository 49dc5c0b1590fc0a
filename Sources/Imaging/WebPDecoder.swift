internal import CWebP

/// Decodes WebP through libwebp: lossy and lossless, with alpha composited over white (as PNG is), an animation's
/// first frame (through libwebpdemux's animation decoder), and the EXIF orientation when the file carries one.
public enum WebPDecoder {
    /// What the bitstream header says, read without decoding.
    public struct Header: Sendable, Equatable {
        public let width: Int
        public let height: Int
        public let hasAlpha: Bool
        public let isAnimated: Bool
    }

    public static func readHeader(_ bytes: [UInt8]) throws(ImagingError) -> Header {
        guard !bytes.isEmpty else { throw .empty }
        var features = WebPBitstreamFeatures()
        let status = bytes.withUnsafeBufferPointer { WebPGetFeatures($0.baseAddress, $0.count, &features) }
        guard status == VP8_STATUS_OK else { throw error(status, while: "reading the header") }
        return Header(width: Int(features.width), height: Int(features.height), hasAlpha: features.has_alpha != 0,
                      isAnimated: features.has_animation != 0)
    }

    /// Decodes `bytes` upright, checking the header's (canvas) size against `limits` before allocating pixels.
    ///
    /// - Parameter minimumShortSide: a still image may come back scaled down by a power of two (libwebp's
    ///   rescaler, as JPEG's DCT scaling) while its short side stays at least this long; `nil` decodes at full size.
    public static func decode(_ bytes: [UInt8], minimumShortSide: Int? = nil, limits: DecodingLimits = DecodingLimits())
        throws(ImagingError) -> RGBImage
    {
        let header = try readHeader(bytes)
        try limits.check(width: header.width, height: header.height)
        let image = header.isAnimated
            ? try firstFrame(bytes, header: header)
            : try still(bytes, header: header, minimumShortSide: minimumShortSide)
        let profile = EmbeddedColorProfile.inWebP(bytes, limit: limits.maxColorProfileBytes)
        return orientation(of: bytes).apply(to: ColorManagement.sRGB(image, iccProfile: profile))
    }

    private static func still(_ bytes: [UInt8], header: Header, minimumShortSide: Int?) throws(ImagingError) -> RGBImage {
        var config = WebPDecoderConfig()
        guard WebPInitDecoderConfig(&config) != 0 else { throw .corrupt(format: .webp, message: "libwebp version mismatch") }
        var (width, height) = (header.width, header.height)
        if let minimumShortSide {
            var factor = 1
            while min(header.width, header.height) / (factor * 2) >= minimumShortSide { factor *= 2 }
            if factor > 1 {
                (width, height) = ((header.width + factor - 1) / factor, (header.height + factor - 1) / factor)
                config.options.use_scaling = 1
                config.options.scaled_width = Int32(width)
                config.options.scaled_height = Int32(height)
            }
        }
        let channels = header.hasAlpha ? 4 : 3
        config.output.colorspace = header.hasAlpha ? MODE_RGBA : MODE_RGB
        config.output.is_external_memory = 1
        var samples = [UInt8](repeating: 0, count: width * height * channels)
        let status = samples.withUnsafeMutableBufferPointer { buffer in
            config.output.u.RGBA.rgba = buffer.baseAddress
            config.output.u.RGBA.stride = Int32(width * channels)
            config.output.u.RGBA.size = buffer.count
            return bytes.withUnsafeBufferPointer { WebPDecode($0.baseAddress, $0.count, &config) }
        }
        WebPFreeDecBuffer(&config.output)
        guard status == VP8_STATUS_OK else { throw error(status, while: "decoding") }
        return header.hasAlpha ? RGBImage(compositingOverWhite: samples, width: width, height: height)
            : RGBImage(width: width, height: height, pixels: samples)
    }

    /// The first frame of an animation, composed on its canvas (libwebp applies offsets, blending and disposal).
    private static func firstFrame(_ bytes: [UInt8], header: Header) throws(ImagingError) -> RGBImage {
        var options = WebPAnimDecoderOptions()
        guard WebPAnimDecoderOptionsInit(&options) != 0 else { throw .corrupt(format: .webp, message: "libwebp version mismatch") }
        options.color_mode = MODE_RGBA
        options.use_threads = 0
        let result: Result<RGBImage, ImagingError> = bytes.withUnsafeBufferPointer { buffer in
            var data = WebPData(bytes: buffer.baseAddress, size: buffer.count)
            guard let decoder = WebPAnimDecoderNew(&data, &options) else {
                return .failure(.corrupt(format: .webp, message: "the animation's frames could not be read"))
            }
            defer { WebPAnimDecoderDelete(decoder) }
            var info = WebPAnimInfo()
            guard WebPAnimDecoderGetInfo(decoder, &info) != 0,
                  Int(info.canvas_width) == header.width, Int(info.canvas_height) == header.height else {
                return .failure(.corrupt(format: .webp, message: "the animation's canvas does not match its header"))
            }
            var frame: UnsafeMutablePointer<UInt8>? = nil
            var timestamp: Int32 = 0
            guard WebPAnimDecoderGetNext(decoder, &frame, &timestamp) != 0, let frame else {
                return .failure(.corrupt(format: .webp, message: "the animation's first frame could not be decoded"))
            }
            let rgba = Array(UnsafeBufferPointer(start: frame, count: header.width * header.height * 4))
            return .success(RGBImage(compositingOverWhite: rgba, width: header.width, height: header.height))
        }
        return try result.get()
    }

    /// The orientation in the file's `EXIF` chunk (a TIFF structure, with or without JPEG's `Exif\0\0` prefix);
    /// `.up` without one.
    static func orientation(of bytes: [UInt8]) -> EXIFOrientation {
        guard let payload = EmbeddedColorProfile.riffChunk("EXIF", in: bytes) else { return .up }
        let prefixed = payload.starts(with: [0x45, 0x78, 0x69, 0x66, 0, 0]) ? Array(payload) : [0x45, 0x78, 0x69, 0x66, 0, 0] + payload
        return EXIFOrientation.orientation(inAPP1: prefixed[...]) ?? .up
    }

    private static func error(_ status: VP8StatusCode, while step: String) -> ImagingError {
        switch status {
        case VP8_STATUS_NOT_ENOUGH_DATA: .corrupt(format: .webp, message: "truncated data while \(step)")
        case VP8_STATUS_UNSUPPORTED_FEATURE: .corrupt(format: .webp, message: "an unsupported WebP feature while \(step)")
        case VP8_STATUS_OUT_OF_MEMORY: .corrupt(format: .webp, message: "out of memory while \(step)")
        default: .corrupt(format: .webp, message: "invalid bitstream while \(step)")
        }
    }
}
