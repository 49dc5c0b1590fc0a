/// Rows of RFC 4180 CSV: fields separated by commas, optionally in double quotes (a quote inside doubled),
/// quoted fields may hold commas and line breaks; rows end with LF or CRLF.
struct CSVReader {
    private var scalars: String.UnicodeScalarView.Iterator
    private var pending: Unicode.Scalar?
    private var row = 0

    init(_ text: String) { scalars = text.unicodeScalars.makeIterator() }

    private mutating func nextScalar() -> Unicode.Scalar? {
        if let scalar = pending {
            pending = nil
            return scalar
        }
        return scalars.next()
    }

    /// The next row's fields, nil at the end.
    mutating func next() throws(ImportError) -> [String]? {
        guard var scalar = nextScalar() else { return nil }
        row += 1
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var quoted = false
        var fieldStarted = false
        while true {
            if quoted {
                if scalar == "\"" {
                    if let following = nextScalar() {
                        if following == "\"" { field.append("\"") } else { quoted = false; pending = following }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(scalar)
                }
            } else {
                switch scalar {
                case "\"" where !fieldStarted:
                    quoted = true
                case "\"":
                    throw .invalidManifest("CSV row \(row): a quote inside an unquoted field")
                case ",":
                    fields.append(String(field))
                    field = String.UnicodeScalarView()
                    fieldStarted = false
                    guard let following = nextScalar() else { fields.append(""); return fields }
                    scalar = following
                    continue
                case "\r":
                    if let following = nextScalar(), following != "\n" { pending = following }
                    fields.append(String(field))
                    return fields
                case "\n":
                    fields.append(String(field))
                    return fields
                default:
                    field.append(scalar)
                }
            }
            fieldStarted = true
            guard let following = nextScalar() else {
                if quoted { throw .invalidManifest("CSV row \(row): a quoted field is not closed") }
                fields.append(String(field))
                return fields
            }
            scalar = following
        }
    }
}
