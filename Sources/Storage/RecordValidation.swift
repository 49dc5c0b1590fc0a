import Foundation

/// Checks applied to user-supplied keys and metadata before anything is written.
public enum RecordValidation {
    /// Longest key in characters.
    public static let maxKeyLength = 256

    /// A key is 1–256 characters (Unicode allowed), with no control characters (which would break logs, URLs and
    /// terminals) and no leading or trailing white space.
    public static func validateKey(_ key: String) throws(StorageError) {
        guard !key.isEmpty else { throw .invalidKey("empty") }
        guard key.count <= maxKeyLength else { throw .invalidKey("longer than \(maxKeyLength) characters") }
        guard key.utf8.count <= maxKeyLength * 4 else { throw .invalidKey("too long") }
        for scalar in key.unicodeScalars {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                && scalar.value != 0x200D {
                throw .invalidKey("contains a control character (U+\(String(scalar.value, radix: 16, uppercase: true)))")
            }
        }
        guard key.first?.isWhitespace == false, key.last?.isWhitespace == false else {
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
