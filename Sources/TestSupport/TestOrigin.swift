public import Foundation

/// `scripts/test_origin.py` serving one folder on an ephemeral loopback port (see the script for its paths that
/// fail, stall, redirect or send too much); stopped when released.
public final class TestOrigin {
    public let port: Int
    public let folder: URL
    public let scheme: String
    private let process = Process()

    /// `tls`: a certificate and its key (PEM files) to serve https with.
    public init(folder: URL, tls: (certificate: String, key: String)? = nil) throws {
        self.folder = folder
        scheme = tls == nil ? "http" : "https"
        process.executableURL = URL(fileURLWithPath: try ExternalTool.testPython.path())
        process.arguments = [ExternalTool.repositoryRoot.appendingPathComponent("scripts/test_origin.py").path, folder.path]
            + (tls.map { [$0.certificate, $0.key] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line is "port=N"; nothing else is printed, so the pipe never fills.
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("port="), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw ServerProcess.Failure(description: "test origin did not start: '\(text)'")
        }
        self.port = port
    }

    /// `http://127.0.0.1:PORT` (or https) + `path`.
    public func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    /// Requests per path the origin has served so far.
    public func requestCounts() throws -> [String: Int] {
        let response = try HTTPTestClient(port: port).request("GET", "/stats")
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int]) ?? [:]
    }

    deinit {
        // SIGKILL: the origin keeps nothing, and a SIGTERM may be blocked in the mask a test runner's child inherits.
        kill(process.processIdentifier, SIGKILL)
        process.waitForExit(timeout: 10)
    }
}
