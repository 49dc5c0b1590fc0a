import HTTPServer
import Lookalike

/// An image's record, as every image route answers it.
struct ImageBody: Encodable {
    let record: ImageRecord

    enum CodingKeys: String, CodingKey {
        case id, format, width, height, bytes, sha256, metadata
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(record.key, forKey: .id)
        try container.encode(record.format, forKey: .format)
        try container.encode(record.width, forKey: .width)
        try container.encode(record.height, forKey: .height)
        try container.encode(record.byteSize, forKey: .bytes)
        try container.encode(SHA256.hex(record.sha256), forKey: .sha256)
        try container.encode(RawJSON(metadata: record.metadata), forKey: .metadata)
        try container.encode(InternetTimestamp.string(secondsSince1970: record.createdAt), forKey: .createdAt)
        try container.encode(InternetTimestamp.string(secondsSince1970: record.updatedAt), forKey: .updatedAt)
    }
}

/// An upload's answer: the record and the near-duplicates found before storing it.
struct UploadBody: Encodable {
    let record: ImageRecord
    let duplicates: [DuplicateBody]

    enum CodingKeys: String, CodingKey { case duplicates }

    func encode(to encoder: any Encoder) throws {
        try ImageBody(record: record).encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(duplicates, forKey: .duplicates)
    }
}

/// A near-duplicate found at upload.
struct DuplicateBody: Encodable {
    let id: String
    let score: Double

    init(_ match: Match) {
        id = match.key
        score = Score.rounded(match.score)
    }
}

/// A page of records.
struct ImageListBody: Encodable {
    let images: [ImageBody]
    /// The cursor of the next page; absent on the last.
    let next: String?
}

/// One file's outcome in a batch upload.
struct BatchEntryBody: Encodable {
    let file: String
    let id: String?
    let status: Int
    let error: String?
    let duplicates: [DuplicateBody]?

    enum CodingKeys: String, CodingKey { case file, id, status, error, duplicates }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(id, forKey: .id)  // null when the file had none
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encodeIfPresent(duplicates, forKey: .duplicates)
    }
}

struct BatchBody: Encodable {
    let results: [BatchEntryBody]
    let stored: Int
    let failed: Int
}

extension RawJSON {
    /// Stored metadata: validated as a JSON object and re-serialised compactly when written, so copied as it is.
    init(metadata: String) {
        self.init(text: metadata.isEmpty ? "{}" : metadata)
    }
}

/// Scores as answers give them: six decimals.
enum Score {
    static func rounded(_ value: Float) -> Double { (Double(value) * 1_000_000).rounded() / 1_000_000 }
}
