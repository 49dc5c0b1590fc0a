import ArgumentParser
import Foundation
import Logging
import Lookalike
import LookalikeAPI

/// Flags shared by the commands that open the service: `--config`, `--db`, `--database-url`, `--model`,
/// `--log-level`.
struct ServiceOptions: ParsableArguments {
    @Option(help: "JSON configuration file (default: Config/lookalike.json when present).")
    var config: String?

    @Option(help: "SQLite database file (overrides storage.databasePath).")
    var db: String?

    @Option(help: "A SQLite file, sqlite:PATH or postgresql://user:password@host:port/database (overrides storage.url).")
    var databaseURL: String?

    @Option(help: "Model weight file (overrides model.path).")
    var model: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    /// Defaults < file < environment < these flags; validated.
    func configuration(apply: (inout Configuration) -> Void = { _ in }) throws -> Configuration {
        let environment = ProcessInfo.processInfo.environment
        var file = config
        if file == nil, FileManager.default.fileExists(atPath: "Config/lookalike.json") { file = "Config/lookalike.json" }
        do {
            var configuration = try Configuration.load(file: file, environment: environment)
            if let db { configuration.storage.databasePath = db }
            if let databaseURL { configuration.storage.url = databaseURL }
            configuration.storage.resolveURL()
            if let model { configuration.model.path = model }
            if let logLevel { configuration.logging.level = logLevel }
            apply(&configuration)
            try configuration.validate()
            return configuration
        } catch let error as Configuration.Error {
            throw ValidationError(error.description)
        }
    }

    var modelPath: (Configuration) -> String {
        { ModelLocation.resolve(explicitPath: $0.model.path, environment: ProcessInfo.processInfo.environment) }
    }

    /// The access log: one line per request at `info`, in the configured format, straight to the log sink; nil
    /// when the level is above `info`.
    static func accessLog(_ configuration: Configuration) -> (@Sendable (AccessRecord) -> Void)? {
        guard (Logger.Level(rawValue: configuration.logging.level) ?? .info) <= .info else { return nil }
        let layout: LogLayout = configuration.logging.format == "json" ? .json : .text
        return { record in
            LogSink.standardError.append(layout.line(level: "info", label: "lookalike", source: "LookalikeAPI", message: "request",
                                                     fields: record.fields))
        }
    }

    /// Bootstraps logging once for the process: lines go to standard error through ``LogSink`` (flush it before
    /// the process ends).
    static func bootstrapLogging(_ configuration: Configuration) {
        let level = Logger.Level(rawValue: configuration.logging.level) ?? .info
        let json = configuration.logging.format == "json"
        LoggingSystem.bootstrap { label in
            var handler = SinkLogHandler(label: label, layout: json ? .json : .text, sink: .standardError)
            handler.logLevel = level
            return handler
        }
    }
}

/// `--collection` for the commands that work on images.
struct CollectionOption: ParsableArguments {
    @Option(help: "Collection name.") var collection = LookalikeService.defaultCollection

    var name: String { collection }
}
