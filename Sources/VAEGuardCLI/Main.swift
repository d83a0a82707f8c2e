import Engine
import CSupport
import VAEGuardCommands

/// Entry point. The BLAS kernel must be settled before any command runs, because OpenBLAS
/// reads `OPENBLAS_CORETYPE` when it loads; `prepareProcess` may re-exec this process once.
@main
enum Main {
    static func main() async {
        vg_stdout_line_buffered()   // progress must reach log files as it happens
        BLASRuntime.prepareProcess()
        await VAEGuardCommand.main()
    }
}
