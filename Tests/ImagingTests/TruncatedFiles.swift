import Testing
@testable import Imaging

/// Files cut short: each prefix must be refused with a typed error of the file's own format, never decoded.
enum TruncatedFiles {
    static func expectRefused(_ bytes: [UInt8], cuts: [Int], format: ImageFormat, sourceLocation: SourceLocation = #_sourceLocation) {
        for cut in cuts {
            do {
                let image = try ImageDecoder().decode(Array(bytes.prefix(cut))).image
                Issue.record("decoded a \(format) cut at \(cut) to \(image.width)×\(image.height)", sourceLocation: sourceLocation)
            } catch ImagingError.corrupt(let refused, _), ImagingError.unsupportedVariant(let refused, _) {
                #expect(refused == format, "cut at \(cut)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("\(format) cut at \(cut): \(error)", sourceLocation: sourceLocation)
            }
        }
    }
}
