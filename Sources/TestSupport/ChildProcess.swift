public import Foundation

extension Process {
    /// Waits for the child to exit by polling `isRunning` (updated from Foundation's SIGCHLD handler).
    ///
    /// `waitUntilExit()` spins the calling thread's run loop and was seen to hang in the parallel test runner
    /// when several suites start children at once; polling has no such dependency.
    public func waitForExit(timeout: Double = 300) {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(5_000) }
    }
}
