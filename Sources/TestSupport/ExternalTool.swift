public import Foundation

/// An independent encoder or decoder from a Debian package (`cwebp`, `dwebp`, ...), run to make or check test
/// fixtures. `scripts/test` installs the packages; a missing tool is an error naming its package, never a skip.
public struct ExternalTool: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case missing(tool: String, package: String)
        case failed(tool: String, status: Int32, output: String)

        public var description: String {
            switch self {
            case .missing(let tool, let package): "'\(tool)' is not installed (Debian package '\(package)'; scripts/test installs it)"
            case .failed(let tool, let status, let output): "'\(tool)' exited with \(status): \(output.prefix(500))"
            }
        }
    }

    public let name: String
    public let package: String

    public init(_ name: String, package: String) {
        self.name = name
        self.package = package
    }

    /// The tool's path: `name` itself when it is a path, otherwise found on `PATH`.
    public func path() throws -> String {
        if name.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else { throw Failure.missing(tool: name, package: package) }
            return name
        }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for directory in directories + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure.missing(tool: name, package: package)
    }

    /// Runs the tool and waits; its combined output is returned, a non-zero exit is thrown.
    @discardableResult
    public func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure.failed(tool: name, status: process.terminationStatus, output: output)
        }
        return output
    }

    /// The repository's root folder (for its scripts and fixtures).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The test suite's Python with Pillow: `LOOKALIKE_TEST_PYTHON` (set by scripts/test), else the venv it makes.
    public static var testPython: ExternalTool {
        let path = ProcessInfo.processInfo.environment["LOOKALIKE_TEST_PYTHON"]
            ?? repositoryRoot.appendingPathComponent(".cache/test-venv/bin/python").path
        return ExternalTool(path, package: "python3-venv, with Pillow from PyPI (scripts/test makes .cache/test-venv)")
    }

    /// Runs one of the repository's Python scripts (`scripts/NAME`) with the test suite's Python.
    @discardableResult
    public static func runScript(_ name: String, _ arguments: [String]) throws -> String {
        try testPython.run([repositoryRoot.appendingPathComponent("scripts").appendingPathComponent(name).path] + arguments)
    }

    /// A fresh temporary directory for one test's files.
    public static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lookalike-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
