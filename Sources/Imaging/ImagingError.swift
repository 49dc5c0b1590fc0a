public import HTTPCore

/// Why an image could not be decoded, encoded or resized.
public enum ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input had no bytes at all.
    case empty
    /// The bytes are of a format Lookalike does not decode (GIF, WebP, ...) or of no known format.
    case unsupportedFormat(ImageFormat)
    /// A known format in a variant Lookalike does not decode (a run-length compressed BMP, say).
    case unsupportedVariant(format: ImageFormat, reason: String)
    /// The header declares more pixels than the configured limit; nothing was allocated for them.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// The header declares a zero or negative size.
    case invalidDimensions(width: Int, height: Int)
    /// The codec rejected the data; `message` is the library's own text.
    case corrupt(format: ImageFormat, message: String)
    /// Encoding (thumbnails) failed; `message` is the library's own text.
    case encodingFailed(message: String)
    /// A caller asked for an impossible geometry (for example a zero-sized target).
    case invalidArgument(String)
    /// A well-formed request region that does not fit this image (outside it, or under the minimum side).
    case regionDoesNotFit(String)

    public var description: String {
        switch self {
        case .empty:
            return "the image is empty (0 bytes)"
        case .unsupportedFormat(.unknown):
            return "unrecognised image data: only JPEG, PNG, WebP, GIF, HEIC, AVIF, BMP and TIFF are supported"
        case .unsupportedFormat(let format):
            return "\(format.rawValue.uppercased()) images are not supported: only JPEG, PNG, WebP, GIF, HEIC, AVIF, BMP and TIFF are"
        case .unsupportedVariant(let format, let reason):
            return "\(format.rawValue.uppercased()) with \(reason) is not supported"
        case .tooManyPixels(let width, let height, let limit):
            return "image is \(width)×\(height) = \(width * height) pixels, over the limit of \(limit)"
        case .invalidDimensions(let width, let height):
            return "image declares an invalid size \(width)×\(height)"
        case .corrupt(let format, let message):
            return "corrupt \(format.rawValue.uppercased()) data: \(message)"
        case .encodingFailed(let message):
            return "image encoding failed: \(message)"
        case .regionDoesNotFit(let message): return message
        case .invalidArgument(let message):
            return message
        }
    }
}

extension ImagingError: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .empty, .invalidArgument: .badRequest
        case .unsupportedFormat, .unsupportedVariant: .unsupportedMediaType
        case .tooManyPixels: .contentTooLarge
        case .invalidDimensions, .corrupt, .regionDoesNotFit: .unprocessableContent
        case .encodingFailed: .internalServerError
        }
    }
}
