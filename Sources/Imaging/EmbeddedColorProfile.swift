internal import CZlib

/// Finds the ICC profile a JPEG, PNG or WebP file embeds, by walking its container; the other formats' libraries
/// hand theirs over. Every reader is bounded by the buffer and by `limit`, and answers `nil` for anything it cannot
/// read whole: a damaged profile leaves the image untagged (sRGB) rather than refused.
enum EmbeddedColorProfile {
    /// JPEG: the `ICC_PROFILE\0` APP2 segments, each numbered `i` of `n`, joined in order; all `n` must be present.
    static func inJPEG(_ jpeg: [UInt8], limit: Int) -> [UInt8]? {
        let signature = Array("ICC_PROFILE".utf8) + [0]
        var chunks: [Int: ArraySlice<UInt8>] = [:]
        var expected = 0
        var total = 0
        var malformed = false
        JPEGSegments.forEach(in: jpeg) { marker, payload in
            guard marker == 0xE2, payload.count > signature.count + 2, payload.starts(with: signature) else { return true }
            let number = Int(payload[payload.startIndex + 12]), count = Int(payload[payload.startIndex + 13])
            guard count > 0, number >= 1, number <= count, expected == 0 || expected == count else { malformed = true; return false }
            expected = count
            let data = payload.dropFirst(14)
            total += data.count
            guard total <= limit, chunks.updateValue(data, forKey: number) == nil else { malformed = true; return false }
            return true
        }
        guard !malformed, expected > 0, chunks.count == expected else { return nil }
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
        var profile: [UInt8]?
        PNGChunks.forEachBeforeImageData(in: png) { type, data in
            guard type.elementsEqual("iCCP".utf8) else { return true }
            if let nameEnd = data.prefix(80).firstIndex(of: 0), nameEnd + 1 < data.endIndex, data[nameEnd + 1] == 0 {
                profile = inflate(data[(nameEnd + 2)...], limit: limit)
            }
            return false
        }
        return profile
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
