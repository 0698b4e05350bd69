// History: the runs walked on this phone, newest first, and what the server refused.
package app.patrol.logic

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import uniffi.patrol_core.RejectionLine
import uniffi.patrol_core.RunListItem

class HistoryModel(private val repo: PatrolRepository, scope: CoroutineScope) : ScreenModel(scope) {
    private val _runs = MutableStateFlow<List<RunListItem>>(emptyList())
    val runs: StateFlow<List<RunListItem>> = _runs.asStateFlow()

    private val _rejections = MutableStateFlow<List<RejectionLine>>(emptyList())
    val rejections: StateFlow<List<RejectionLine>> = _rejections.asStateFlow()

    fun refresh() = act {
        _runs.value = repo.runs().sortedByDescending { it.startedMs }
        _rejections.value = repo.rejections()
    }
}
