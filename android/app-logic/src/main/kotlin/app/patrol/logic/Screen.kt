// The base of the screen models: a coroutine scope owned by the platform (Android's
// viewModelScope, a test's scope), one busy flag and one error per screen.
package app.patrol.logic

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

abstract class ScreenModel(protected val scope: CoroutineScope) {
    private val _busy = MutableStateFlow(false)
    private val _error = MutableStateFlow<UiError?>(null)

    /** True while a call the person started is running (show a spinner, disable buttons). */
    val busy: StateFlow<Boolean> = _busy.asStateFlow()

    /** The last refusal or failure, until the person dismisses it or the next call succeeds. */
    val error: StateFlow<UiError?> = _error.asStateFlow()

    fun dismissError() {
        _error.value = null
    }

    /** Runs a call the person started; its failure lands in [error], never in a crash. */
    protected fun act(block: suspend () -> Unit): Job = scope.launch {
        _busy.value = true
        try {
            block()
            _error.value = null
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            _error.value = e.toUiError()
        } finally {
            _busy.value = false
        }
    }
}
