#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-23T21:07:57.123Z`).
///
/// Foundation's `ISO8601DateFormatter` builds an ICU formatter per instance, which cost more than the rest of a
/// JSON record together; the calendar arithmetic here is `gmtime_r`.
public enum InternetTimestamp {
    /// Formats seconds since 1970-01-01T00:00:00Z, rounded to the nearest millisecond. Values outside years
    /// 0001–9999 (or not finite, say from a damaged record) are clamped to that range rather than trapping.
    public static func string(secondsSince1970 seconds: Double) -> String {
        let earliest = -62_135_596_800.0, latest = 253_402_300_799.999
        let bounded = seconds.isNaN ? 0 : min(max(seconds, earliest), latest)
        let milliseconds = Int64((bounded * 1000).rounded())
        var whole = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        let fraction = Int(milliseconds - Int64(whole) * 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        var text = ""
        text.reserveCapacity(24)
        append(Int(parts.tm_year) + 1900, digits: 4, to: &text)
        text.append("-")
        append(Int(parts.tm_mon) + 1, digits: 2, to: &text)
        text.append("-")
        append(Int(parts.tm_mday), digits: 2, to: &text)
        text.append("T")
        append(Int(parts.tm_hour), digits: 2, to: &text)
        text.append(":")
        append(Int(parts.tm_min), digits: 2, to: &text)
        text.append(":")
        append(Int(parts.tm_sec), digits: 2, to: &text)
        text.append(".")
        append(fraction, digits: 3, to: &text)
        text.append("Z")
        return text
    }

    private static func append(_ value: Int, digits: Int, to text: inout String) {
        let decimal = String(value)
        if decimal.count < digits { text.append(String(repeating: "0", count: digits - decimal.count)) }
        text.append(decimal)
    }
}
