// What the stories against the real server share: the demo server, a scope for the
// screen models, and the phones a story opens, closed after each test.
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import uniffi.patrol_core.PatrolCore

abstract class ServerStory {
    /** The shared demo server; a story whose records would change another's counts runs its own. */
    protected open val server: DemoServer get() = DemoServer.shared
    protected val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val cores = mutableListOf<PatrolCore>()

    @AfterEach
    fun close() {
        scope.cancel()
        cores.forEach { it.close() }
    }

    /** A phone of this story, closed when the test ends. */
    protected fun kept(core: PatrolCore): PatrolCore = core.also { cores += it }

    /** Waits for a call a screen started; fails the test if it hangs. */
    protected fun Job.await() = runBlocking { withTimeout(60_000) { join() } }
}
