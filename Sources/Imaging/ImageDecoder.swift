/// The one entry point from uploaded bytes to upright RGB pixels.
public struct ImageDecoder: Sendable {
    /// Limits checked before any pixel memory is allocated.
    public var limits: DecodingLimits

    public init(limits: DecodingLimits = DecodingLimits()) {
        self.limits = limits
    }

    /// A decoded image with what is known about the original.
    public struct Decoded: Sendable {
        /// The pixels, upright, possibly downscaled while decoding (JPEG's DCT scaling, WebP's rescaler).
        public let image: RGBImage
        /// The detected format.
        public let format: ImageFormat
        /// Full-size dimensions of the upright original.
        public let originalWidth: Int
        public let originalHeight: Int

        init(image: RGBImage, format: ImageFormat, originalWidth: Int, originalHeight: Int) {
            self.image = image
            self.format = format
            self.originalWidth = originalWidth
            self.originalHeight = originalHeight
        }

        /// For a format whose header gives the stored size before the EXIF orientation turns it upright.
        init(image: RGBImage, format: ImageFormat, storedWidth: Int, storedHeight: Int, orientation: EXIFOrientation) {
            let swapped = orientation.swapsDimensions
            self.init(image: image, format: format, originalWidth: swapped ? storedHeight : storedWidth,
                      originalHeight: swapped ? storedWidth : storedHeight)
        }
    }

    /// Detects the format from the bytes and decodes JPEG, PNG, WebP, GIF (its first frame), HEIC, AVIF, BMP or TIFF (its first page).
    ///
    /// - Parameter minimumShortSide: the decoder may return a smaller image (JPEG, WebP) whose short side
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
            return Decoded(
                image: try JPEGDecoder.decode(bytes, minimumShortSide: minimumShortSide, limits: limits), format: .jpeg,
                storedWidth: header.width, storedHeight: header.height, orientation: EXIFOrientation.read(fromJPEG: bytes))
        case .webp:
            let header = try WebPDecoder.readHeader(bytes)
            return Decoded(
                image: try WebPDecoder.decode(bytes, minimumShortSide: minimumShortSide, limits: limits), format: .webp,
                storedWidth: header.width, storedHeight: header.height, orientation: WebPDecoder.orientation(of: bytes))
        default:
            // Formats decoded at full size whose decoder returns the upright image.
            let image: RGBImage
            switch format {
            case .png: image = try PNGDecoder.decode(bytes, limits: limits)
            case .gif: image = try GIFDecoder.decode(bytes, limits: limits)
            case .tiff: image = try TIFFDecoder.decode(bytes, limits: limits)
            case .heic: image = try HEIFDecoder.decode(bytes, limits: limits)
            case .avif: image = try AVIFDecoder.decode(bytes, limits: limits)
            case .bmp: image = try BMPDecoder.decode(bytes, limits: limits)
            default: throw .unsupportedFormat(format)
            }
            return Decoded(image: image, format: format, originalWidth: image.width, originalHeight: image.height)
        }
    }
}
