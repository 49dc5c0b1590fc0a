import Foundation

/// Checks applied to user-supplied keys and metadata before anything is written.
public enum RecordValidation {
    /// Longest key in Unicode code points.
    public static let maxKeyLength = 256

    /// A key is 1–256 Unicode code points, with no control or format characters (categories Cc and Cf, which
    /// would break logs, URLs and terminals or hide text; in the Basic Multilingual Plane, and the zero-width joiner
    /// of emoji sequences excepted) and
    /// no leading or trailing white space. Code points, not grapheme clusters, so that the OpenAPI document's
    /// pattern states the same rule.
    public static func validateKey(_ key: String) throws(StorageError) {
        guard !key.isEmpty else { throw .invalidKey("empty") }
        guard key.unicodeScalars.count <= maxKeyLength else { throw .invalidKey("longer than \(maxKeyLength) code points") }
        for scalar in key.unicodeScalars {
            // Astral format characters are left alone: the tag characters of flag emoji sequences are among them.
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                && scalar.value != 0x200D && scalar.value < 0x10000 {
                throw .invalidKey("contains a control character (U+\(String(scalar.value, radix: 16, uppercase: true)))")
            }
        }
        guard key.unicodeScalars.first?.properties.isWhitespace == false, key.unicodeScalars.last?.properties.isWhitespace == false else {
            throw .invalidKey("starts or ends with white space")
        }
    }

    /// Metadata is a JSON object of at most `maxBytes` bytes (UTF-8). Returns it re-serialised compactly.
    public static func validateMetadata(_ text: String, maxBytes: Int) throws(StorageError) -> String {
        guard text.utf8.count <= maxBytes else {
            throw .invalidMetadata("\(text.utf8.count) bytes, over the limit of \(maxBytes)")
        }
        if text == "{}" { return text }  // the usual case (no metadata), already compact
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [])
        } catch {
            throw .invalidMetadata("not valid JSON")
        }
        guard object is [String: Any] else { throw .invalidMetadata("must be a JSON object") }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
              let compact = String(data: data, encoding: .utf8) else {
            throw .invalidMetadata("cannot be serialised")
        }
        return compact
    }
}
