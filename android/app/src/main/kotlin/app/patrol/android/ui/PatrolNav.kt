// Navigation: sign in, then five tabs (today, notices, fault notices, sync, history) and the
// pages they open (a run, a new notice, a notice, a fault notice, a new fault notice, a
// photo's markup). The screen models live in one AndroidX ViewModel with its
// viewModelScope; they are the app-logic classes tested on the JVM.
package app.patrol.android.ui

import android.app.Application
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.List
import androidx.compose.material.icons.filled.DateRange
import androidx.compose.material.icons.filled.Notifications
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.material.icons.filled.Warning
import androidx.compose.material3.Icon
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.res.stringResource
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.currentBackStackEntryAsState
import androidx.navigation.compose.rememberNavController
import app.patrol.android.PatrolApp
import app.patrol.android.R
import app.patrol.logic.DeepLink
import app.patrol.logic.FaultsModel
import app.patrol.logic.HistoryModel
import app.patrol.logic.PendingLink
import app.patrol.logic.Lang
import app.patrol.logic.NoticesModel
import app.patrol.logic.RaiseNoticeModel
import app.patrol.logic.RunModel
import app.patrol.logic.SessionModel
import app.patrol.logic.SyncModel
import app.patrol.logic.TodayModel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch

class PatrolViewModel(app: Application) : AndroidViewModel(app) {
    val repo = (app as PatrolApp).repo
    private val lang = { if (app.resources.configuration.locales[0].language == "en") Lang.EN else Lang.ZH }
    val session = SessionModel(repo, viewModelScope)
    val today = TodayModel(repo, viewModelScope, lang)
    val run = RunModel(repo, viewModelScope)
    val raise = RaiseNoticeModel(repo, viewModelScope)
    val notices = NoticesModel(repo, viewModelScope)
    val faults = FaultsModel(repo, viewModelScope)
    val sync = SyncModel(repo, viewModelScope)
    val history = HistoryModel(repo, viewModelScope)

    private val _offsets = MutableStateFlow<Map<String, Int>>(emptyMap())
    /** Each site's UTC offset in minutes: times are shown in the site's clock. */
    val siteOffsets: StateFlow<Map<String, Int>> = _offsets

    init {
        session.restore()
        viewModelScope.launch {
            repo.revision.collect { _offsets.value = runCatching { repo.sites() }.getOrDefault(emptyList()).associate { it.id to it.utcOffsetMinutes } }
        }
    }
}

private enum class Tab(val route: String, val label: Int, val icon: ImageVector) {
    TODAY("today", R.string.tab_today, Icons.Filled.DateRange),
    NOTICES("notices", R.string.tab_notices, Icons.Filled.Notifications),
    FAULTS("faults", R.string.tab_faults, Icons.Filled.Warning),
    SYNC("sync", R.string.tab_sync, Icons.Filled.Refresh),
    HISTORY("history", R.string.tab_history, Icons.AutoMirrored.Filled.List),
}

@Composable
fun PatrolNav(pendingLink: PendingLink, vm: PatrolViewModel = viewModel()) {
    val person by vm.session.person.collectAsStateWithLifecycle()
    if (person == null) {
        SignInScreen(vm.session)
        return
    }
    val nav = rememberNavController()
    val entry by nav.currentBackStackEntryAsState()
    val current = entry?.destination?.route
    Scaffold(
        bottomBar = {
            if (Tab.entries.any { it.route == current }) {
                NavigationBar {
                    Tab.entries.forEach { tab ->
                        NavigationBarItem(
                            selected = current == tab.route,
                            onClick = { nav.navigate(tab.route) { popUpTo("today"); launchSingleTop = true } },
                            icon = { Icon(tab.icon, contentDescription = null) },
                            label = { Text(stringResource(tab.label)) },
                        )
                    }
                }
            }
        },
    ) { padding ->
        NavHost(nav, startDestination = "today", modifier = Modifier.padding(padding)) {
            composable("today") { TodayScreen(vm, openRun = { nav.navigate("run/$it") }) }
            composable("notices") {
                NoticesScreen(vm, open = { nav.navigate("notice/$it") }, raise = { vm.raise.open(); nav.navigate("notice/new") })
            }
            composable("faults") {
                FaultsScreen(vm, open = { nav.navigate("fault/$it") }, issue = { vm.faults.openForm(); nav.navigate("fault/new") })
            }
            composable("sync") { SyncScreen(vm) }
            composable("history") { HistoryScreen(vm, openRun = { nav.navigate("run/$it") }) }
            composable("run/{runId}") { e ->
                val runId = e.arguments?.getString("runId")!!
                RunScreen(
                    vm, runId, raiseNotice = { nav.navigate("notice/new") }, back = { nav.popBackStack() }, plan = { nav.navigate("run/$runId/plan") },
                    markup = { nav.navigate("photo/$it/markup") },
                )
            }
            composable("run/{runId}/plan") { e -> PlanScreen(vm, e.arguments?.getString("runId")!!) }
            composable("notice/new") { RaiseNoticeScreen(vm, done = { nav.popBackStack() }, markup = { nav.navigate("photo/$it/markup") }) }
            composable("fault/new") { IssueFaultScreen(vm, done = { nav.popBackStack() }, markup = { nav.navigate("photo/$it/markup") }) }
            composable("fault/{id}") { e -> FaultScreen(vm, e.arguments?.getString("id")!!) }
            composable("notice/{id}") { e -> NoticeScreen(vm, e.arguments?.getString("id")!!, markup = { nav.navigate("photo/$it/markup") }) }
            // A photo this phone took, marked up; saving or leaving comes back to where it was opened.
            composable("photo/{sha}/markup") { e -> MarkupScreen(vm, e.arguments?.getString("sha")!!, done = { nav.popBackStack() }) }
        }
    }
    // A notice link (from a WeCom / DingTalk / e-mail message): followed once signed in.
    // The notice screen (NoticesModel.open) syncs first if the pull has not brought it yet.
    val link by pendingLink.link.collectAsStateWithLifecycle()
    LaunchedEffect(link, person) {
        when (val l = pendingLink.take(signedIn = person != null)) {
            is DeepLink.Notice -> nav.navigate(l.route) { launchSingleTop = true }
            null -> Unit
        }
    }
    // Screens reload whenever the repository recorded something or a sync brought news.
    val revision by vm.repo.revision.collectAsStateWithLifecycle()
    LaunchedEffect(revision) { vm.sync.refresh() }
}
