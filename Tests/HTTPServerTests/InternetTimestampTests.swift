import Foundation
import Testing
import HTTPServer

/// The hand-written RFC 3339 formatter against Foundation's ISO 8601 formatter as the reference.
struct InternetTimestampTests {
    @Test func matchesFoundationsFormatter() {
        let reference = ISO8601DateFormatter()
        reference.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        // Whole milliseconds from 1970 to 2100, plus edges.
        var samples: [Double] = [0, 0.001, 0.999, 951_782_400, 4_102_444_799.999, 1_795_042_077.123]
        for _ in 0..<2_000 { samples.append(Double(Int64.random(in: 0..<4_102_444_800_000, using: &generator)) / 1000) }
        for seconds in samples {
            let expected = reference.string(from: Date(timeIntervalSince1970: seconds))
            #expect(InternetTimestamp.string(secondsSince1970: seconds) == expected, "at \(seconds)")
        }
    }

    @Test func clampsValuesNoCalendarYearCanHold() {
        #expect(InternetTimestamp.string(secondsSince1970: .infinity) == "9999-12-31T23:59:59.999Z")
        #expect(InternetTimestamp.string(secondsSince1970: -1e300) == "0001-01-01T00:00:00.000Z")
        #expect(InternetTimestamp.string(secondsSince1970: .nan) == "1970-01-01T00:00:00.000Z")
    }

    @Test func roundsToTheNearestMillisecond() {
        #expect(InternetTimestamp.string(secondsSince1970: 1.9996) == "1970-01-01T00:00:02.000Z")
        #expect(InternetTimestamp.string(secondsSince1970: 1.9994) == "1970-01-01T00:00:01.999Z")
        #expect(InternetTimestamp.string(secondsSince1970: -0.5) == "1969-12-31T23:59:59.500Z")
    }
}
