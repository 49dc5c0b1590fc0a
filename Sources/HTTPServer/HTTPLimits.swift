/// Bounds on what one client may send and how long it may take. Every value is configurable.
public struct HTTPLimits: Sendable {
    /// Longest request line in bytes (default 8 KiB); longer → 414.
    public var maxRequestLineBytes = 256 * 1024
    /// Total header bytes (default 64 KiB) and header count (default 100); more → 431.
    public var maxHeaderBytes = 64 * 1024
    public var maxHeaderCount = 100
    /// Largest body in bytes (default 32 MiB); larger → 413 before reading it.
    public var maxBodyBytes = 32 * 1024 * 1024
    /// Seconds to receive a complete request head (default 10).
    public var headerTimeout: Double = 10
    /// Seconds an idle keep-alive connection stays open (default 60).
    public var idleTimeout: Double = 60
    /// Slowest accepted body upload in bytes per second, after `headerTimeout` of grace (default 16 KiB/s).
    public var minBodyBytesPerSecond: Double = 16 * 1024
    /// Open connections at most (default 512); more are answered 503 and closed.
    public var maxConnections = 512

    public init() {}
}
