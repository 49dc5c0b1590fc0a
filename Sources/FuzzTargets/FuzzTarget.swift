import Foundation
import HTTPServer
import Imaging
import Inference
import Storage

/// The entry points fed with arbitrary bytes by the fuzzer (`scripts/fuzz`) and, in the test suite, by the committed
/// corpus and every input that once crashed.
///
/// Each run must either succeed or throw the component's typed error; a trap, an out-of-bounds access or a broken
/// invariant is a bug. Invariants are checked with `precondition` so the fuzzer sees them as crashes.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case httpRequest = "http-request"
    case multipart
    case jpeg
    case png
    case webp
    case gif
    case bmp
    case tiff
    case heic
    case avif
    case exif
    case weightFile = "weight-file"
    case metadata

    /// Limits small enough that the fuzzer explores shapes rather than spending its time on huge allocations.
    static let imageLimits = DecodingLimits(maxPixels: 4_000_000, maxBytes: 8 << 20)

    public func run(_ input: [UInt8]) {
        switch self {
        case .httpRequest: Self.parseHTTP(input)
        case .multipart: Self.parseMultipart(input)
        case .jpeg: Self.decodeJPEG(input)
        case .png: Self.decode(input, with: PNGDecoder.decode)
        case .webp: Self.decodeWebP(input)
        case .gif: Self.decode(input, with: GIFDecoder.decode)
        case .bmp: Self.decode(input, with: BMPDecoder.decode)
        case .tiff: Self.decode(input, with: TIFFDecoder.decode)
        case .heic: Self.decode(input, with: HEIFDecoder.decode)
        case .avif: Self.decode(input, with: AVIFDecoder.decode)
        case .exif: Self.readEXIF(input)
        case .weightFile: Self.readWeightFile(input)
        case .metadata: Self.validateRecord(input)
        }
    }

    /// Whether the bytes decode as an image under the fuzzing limits (used to check that seeds are valid).
    public static func decodes(_ input: [UInt8]) -> Bool {
        (try? ImageDecoder(limits: imageLimits).decode(input)) != nil
    }

    /// Feeds the bytes in two pieces (split where the first byte says) so both whole and partial reads are explored,
    /// then drains every request the parser can produce.
    private static func parseHTTP(_ input: [UInt8]) {
        guard let first = input.first else { return }
        var limits = HTTPLimits()
        limits.maxBodyBytes = 64 * 1024
        var parser = HTTPRequestParser(limits: limits)
        let rest = input.dropFirst()
        let split = rest.isEmpty ? 0 : Int(first) % (rest.count + 1)
        var requests = 0
        for piece in [rest.prefix(split), rest.dropFirst(split)] {
            parser.append(piece)
            while true {
                let event: HTTPRequestParser.Event
                do { event = try parser.next() } catch {
                    precondition((400..<600).contains(error.status.code), "parser failure with status \(error.status)")
                    return
                }
                switch event {
                case .needMoreData: break
                case .expectContinue: continue
                case .request(let request):
                    requests += 1
                    precondition(request.body.count <= limits.maxBodyBytes, "body over the limit was accepted")
                    precondition(!request.method.rawValue.isEmpty, "a request without a method was accepted")
                    precondition(requests <= input.count, "more requests than input bytes")
                    continue
                }
                break
            }
        }
    }

    /// The first line is the boundary, the rest the body.
    private static func parseMultipart(_ input: [UInt8]) {
        let newline = input.firstIndex(of: UInt8(ascii: "\n")) ?? input.count
        let boundary = String(decoding: input[..<newline], as: UTF8.self)
        let body = Array(input.dropFirst(newline + 1))
        let parser = MultipartParser(maxParts: 16, maxPartBytes: 16 * 1024)
        do {
            let parts = try parser.parse(body, boundary: boundary)
            precondition(parts.count <= parser.maxParts, "more parts than the limit")
            precondition(parts.allSatisfy { $0.body.count <= parser.maxPartBytes }, "part over the limit")
        } catch {
            precondition((400..<600).contains(error.status.code), "multipart failure with status \(error.status)")
        }
    }

    private static func decodeJPEG(_ input: [UInt8]) {
        // Half the runs use DCT scaling, as uploads for the model do.
        let minimumShortSide: Int? = input.count % 2 == 0 ? nil : 224
        guard let image = try? JPEGDecoder.decode(input, minimumShortSide: minimumShortSide, limits: imageLimits)
        else { return }
        checkDecoded(image)
        checkDecoded(EXIFOrientation.read(fromJPEG: input).apply(to: image))
    }

    private static func decodeWebP(_ input: [UInt8]) {
        // Half the runs scale while decoding, as uploads for the model do.
        let minimumShortSide: Int? = input.count % 2 == 0 ? nil : 16
        guard let image = try? WebPDecoder.decode(input, minimumShortSide: minimumShortSide, limits: imageLimits) else { return }
        checkDecoded(image)
    }

    /// A decoder that takes only the bytes and the limits: its image, when it returns one, must be well formed.
    private static func decode(_ input: [UInt8], with decoder: ([UInt8], DecodingLimits) throws(ImagingError) -> RGBImage) {
        guard let image = try? decoder(input, imageLimits) else { return }
        checkDecoded(image)
    }

    private static func checkDecoded(_ image: RGBImage) {
        precondition(image.width > 0 && image.height > 0, "decoded an empty image")
        precondition(image.width * image.height <= imageLimits.maxPixels, "decoded past the pixel limit")
        precondition(image.pixels.count == image.width * image.height * 3, "pixel buffer does not match the size")
    }

    /// Wraps the bytes in a JPEG APP1 segment when they do not already start like a JPEG, so the EXIF parser itself
    /// is reached rather than the marker scan only.
    private static func readEXIF(_ input: [UInt8]) {
        var jpeg = input
        if !(input.count >= 2 && input[0] == 0xFF && input[1] == 0xD8) {
            let length = min(input.count + 2, 0xFFFF)
            jpeg = [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)]
                + input.prefix(length - 2) + [0xFF, 0xD9]
        }
        let orientation = EXIFOrientation.read(fromJPEG: jpeg)
        precondition(EXIFOrientation.allCases.contains(orientation), "orientation out of range")
    }

    private static func readWeightFile(_ input: [UInt8]) {
        guard let file = try? WeightFile(bytes: input, path: "<fuzz>") else { return }
        for tensor in file.tensors.values {
            precondition(tensor.values.count == tensor.shape.reduce(1, *), "tensor values do not match its shape")
        }
        // Building the network checks every shape it uses: a bad file is an error, never a trap.
        _ = try? ImageModel(weights: file)
    }

    /// The first line is an image id, the rest metadata: both go through the checks every upload passes.
    private static func validateRecord(_ input: [UInt8]) {
        let newline = input.firstIndex(of: UInt8(ascii: "\n")) ?? input.count
        let key = String(decoding: input[..<newline], as: UTF8.self)
        if (try? RecordValidation.validateKey(key)) != nil {
            // The limit is in characters; each may take up to 4 UTF-8 bytes.
            precondition(!key.isEmpty && key.count <= RecordValidation.maxKeyLength
                         && key.utf8.count <= 4 * RecordValidation.maxKeyLength, "accepted a bad key")
        }
        let text = String(decoding: input.dropFirst(newline + 1), as: UTF8.self)
        guard let compact = try? RecordValidation.validateMetadata(text, maxBytes: 4096) else { return }
        precondition(compact.utf8.count <= 4096, "metadata over the limit was accepted")
        let reparsed = try? JSONSerialization.jsonObject(with: Data(compact.utf8))
        precondition(reparsed is [String: Any], "accepted metadata is not a JSON object")
    }
}
