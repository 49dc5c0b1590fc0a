internal import CZlib

/// Finds the ICC profile a JPEG, PNG or WebP file embeds, by walking its container; the other formats' libraries
/// hand theirs over. Every reader is bounded by the buffer and by `limit`, and answers `nil` for anything it cannot
/// read whole: a damaged profile leaves the image untagged (sRGB) rather than refused.
enum EmbeddedColorProfile {
    /// JPEG: the `ICC_PROFILE\0` APP2 segments, each numbered `i` of `n`, joined in order; all `n` must be present.
    static func inJPEG(_ jpeg: [UInt8], limit: Int) -> [UInt8]? {
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return nil }
        let signature = Array("ICC_PROFILE".utf8) + [0]
        var chunks: [Int: ArraySlice<UInt8>] = [:]
        var expected = 0
        var total = 0
        var offset = 2
        scan: while offset + 4 <= jpeg.count {
            guard jpeg[offset] == 0xFF else { break }
            let marker = jpeg[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill bytes
            if marker == 0xDA || marker == 0xD9 { break scan }  // start of scan / end of image
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { offset += 2; continue }  // no length
            let length = Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3])
            guard length >= 2, offset + 2 + length <= jpeg.count else { break }
            let payload = jpeg[(offset + 4)..<(offset + 2 + length)]
            if marker == 0xE2, payload.count > signature.count + 2, payload.starts(with: signature) {
                let number = Int(payload[payload.startIndex + 12]), count = Int(payload[payload.startIndex + 13])
                guard count > 0, number >= 1, number <= count, expected == 0 || expected == count else { return nil }
                expected = count
                let data = payload.dropFirst(14)
                total += data.count
                guard total <= limit, chunks.updateValue(data, forKey: number) == nil else { return nil }
            }
            offset += 2 + length
        }
        guard expected > 0, chunks.count == expected else { return nil }
        return (1...expected).flatMap { chunks[$0]! }
    }

    /// WebP: the extended format's `ICCP` chunk.
    static func inWebP(_ webp: [UInt8], limit: Int) -> [UInt8]? {
        guard let chunk = riffChunk("ICCP", in: webp), !chunk.isEmpty, chunk.count <= limit else { return nil }
        return Array(chunk)
    }

    /// The payload of the first RIFF chunk named `name` in a WebP file.
    static func riffChunk(_ name: String, in bytes: [UInt8]) -> ArraySlice<UInt8>? {
        var offset = 12
        while offset + 8 <= bytes.count {
            let size = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            let start = offset + 8
            guard size <= bytes.count - start else { return nil }
            if bytes[offset..<(offset + 4)].elementsEqual(name.utf8) { return bytes[start..<(start + size)] }
            offset = start + size + (size & 1)
        }
        return nil
    }

    /// PNG: the `iCCP` chunk before the image data (a name, a compression method of 0, then zlib), inflated up to
    /// `limit` bytes.
    static func inPNG(_ png: [UInt8], limit: Int) -> [UInt8]? {
        var offset = 8
        while offset + 8 <= png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            let type = png[(offset + 4)..<(offset + 8)]
            let start = offset + 8
            guard length <= png.count - start else { return nil }
            if type.elementsEqual("IDAT".utf8) || type.elementsEqual("IEND".utf8) { return nil }
            if type.elementsEqual("iCCP".utf8) {
                let data = png[start..<(start + length)]
                guard let nameEnd = data.prefix(80).firstIndex(of: 0), nameEnd + 1 < data.endIndex, data[nameEnd + 1] == 0
                else { return nil }
                return inflate(data[(nameEnd + 2)...], limit: limit)
            }
            offset = start + length + 4  // and the CRC
        }
        return nil
    }

    /// zlib-inflates `compressed`, or `nil` if it is damaged or inflates to more than `limit` bytes.
    static func inflate(_ compressed: ArraySlice<UInt8>, limit: Int) -> [UInt8]? {
        var stream = z_stream()
        guard lookalike_inflate_init(&stream) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 16 << 10)
        let finished: Bool = compressed.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                let status = block.withUnsafeMutableBufferPointer { block in
                    stream.next_out = block.baseAddress
                    stream.avail_out = uInt(block.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = block.count - Int(stream.avail_out)
                guard output.count + produced <= limit else { return false }
                output += block[..<produced]
                if status == Z_STREAM_END { return true }
                guard status == Z_OK, produced > 0 || stream.avail_in > 0 else { return false }
            }
        }
        return finished ? output : nil
    }
}
