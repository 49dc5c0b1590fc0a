/// An image container format, recognised from the leading bytes of a file.
///
/// Detection never looks at a file name or a `Content-Type`: clients mislabel uploads, and the bytes are the
/// only thing the decoders will actually see.
public enum ImageFormat: String, Sendable, CaseIterable, Codable {
    case jpeg
    case png
    case gif
    case webp
    case heic
    case avif
    case bmp
    case tiff
    case pdf
    case svg
    case unknown

    /// Whether Lookalike can decode this format.
    public var isDecodable: Bool { [.jpeg, .png, .webp, .gif, .heic, .avif, .bmp, .tiff].contains(self) }

    /// Detects the format from magic numbers at the start of `bytes`.
    public static func detect<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> ImageFormat where Bytes.Element == UInt8 {
        let head = Array(bytes.prefix(512))
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && Array(head[offset..<offset + magic.count]) == magic
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("ftyp".utf8), at: 4), head.count >= 12 {
            let brand = String(decoding: head[8..<12], as: UTF8.self)
            if brand == "avif" || brand == "avis" { return .avif }
            if ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"].contains(brand) { return .heic }
        }
        if starts(Array("BM".utf8)) && head.count >= 14 { return .bmp }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts(Array("%PDF-".utf8)) { return .pdf }
        if looksLikeSVG(head) { return .svg }
        return .unknown
    }

    private static func looksLikeSVG(_ head: [UInt8]) -> Bool {
        // SVG is XML text: skip a BOM and white space, then look for an XML prolog or an <svg element early on.
        var text = String(decoding: head, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let trimmed = text.drop(while: { $0.isWhitespace }).lowercased()
        guard trimmed.hasPrefix("<") else { return false }
        return trimmed.hasPrefix("<svg") || ((trimmed.hasPrefix("<?xml") || trimmed.hasPrefix("<!doctype"))
            && trimmed.contains("<svg"))
    }
}
