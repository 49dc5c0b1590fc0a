/// The one entry point from uploaded bytes to upright RGB pixels.
public struct ImageDecoder: Sendable {
    /// Limits checked before any pixel memory is allocated.
    public var limits: DecodingLimits

    public init(limits: DecodingLimits = DecodingLimits()) {
        self.limits = limits
    }

    /// A decoded image with what is known about the original.
    public struct Decoded: Sendable {
        /// The pixels, upright, possibly DCT-downscaled (JPEG).
        public let image: RGBImage
        /// The detected format.
        public let format: ImageFormat
        /// Full-size dimensions of the upright original.
        public let originalWidth: Int
        public let originalHeight: Int
    }

    /// Detects the format from the bytes and decodes JPEG or PNG.
    ///
    /// - Parameter minimumShortSide: the decoder may return a smaller image (JPEG DCT scaling) whose short side
    ///   is still at least this long; `nil` decodes at full size.
    /// - Throws: ``ImagingError``, naming the detected format when it is not supported.
    public func decode(_ bytes: [UInt8], minimumShortSide: Int? = nil) throws(ImagingError) -> Decoded {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= limits.maxBytes else {
            throw .invalidArgument("image is \(bytes.count) bytes, over the limit of \(limits.maxBytes)")
        }
        let format = ImageFormat.detect(bytes)
        switch format {
        case .jpeg:
            let header = try JPEGDecoder.readHeader(bytes)
            let image = try JPEGDecoder.decode(bytes, minimumShortSide: minimumShortSide, limits: limits)
            let swapped = EXIFOrientation.read(fromJPEG: bytes).swapsDimensions
            return Decoded(
                image: image, format: .jpeg,
                originalWidth: swapped ? header.height : header.width,
                originalHeight: swapped ? header.width : header.height)
        case .png:
            let image = try PNGDecoder.decode(bytes, limits: limits)
            return Decoded(image: image, format: .png, originalWidth: image.width, originalHeight: image.height)
        default:
            throw .unsupportedFormat(format)
        }
    }
}
