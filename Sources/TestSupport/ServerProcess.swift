public import Foundation

/// A `lookalike serve` child process on an ephemeral loopback port, its log in a file (a pipe would fill up and
/// stall the server once nobody reads it).
public final class ServerProcess {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let process = Process()
    public let logURL: URL
    /// The port from the "listening" log line.
    public private(set) var port = 0
    /// Seconds from launch until the log said "index ready" (the server answers /readyz with 200 from then on).
    public private(set) var secondsToReady = 0.0

    public init(binary: URL, arguments: [String], logURL: URL, environment: [String: String] = [:]) {
        self.logURL = logURL
        process.executableURL = binary
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }

    /// Launches the server and waits (polling its log) until its index is ready.
    public func start(timeout: Double = 120) throws {
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.standardError = log
        process.standardOutput = log
        let launched = Date()
        try process.run()
        let deadline = launched.addingTimeInterval(timeout)
        while Date() < deadline {
            let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            if text.contains("index ready"),
               let range = text.range(of: #"port[=":]+\s*"?(\d+)"#, options: .regularExpression) {
                let digits = text[range].filter(\.isNumber)
                port = Int(digits) ?? 0
                secondsToReady = Date().timeIntervalSince(launched)
                return
            }
            guard process.isRunning else { throw Failure(description: "server exited during start-up:\n\(text)") }
            usleep(10_000)
        }
        process.terminate()
        throw Failure(description: "server not ready within \(timeout) s")
    }

    /// SIGKILL: no chance to flush, close or drain anything.
    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitForExit(timeout: 30)
    }

    /// SIGTERM, then waits for the orderly shutdown.
    public func stop() {
        process.terminate()
        process.waitForExit(timeout: 60)
    }
}
