// Staff fault notices (员工过失通知单): the signed-in person's notices of a month, newest
// first, with their month (notices that count, points after appeals, appeals open);
// signing for, refusing and appealing one's own; and, for supervisors and department
// heads, issuing one offline (rule from the cached catalogue, person, what was seen,
// where), numbered by the server at the next sync.
package app.patrol.logic

import java.time.YearMonth
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import uniffi.patrol_core.FaultDraft
import uniffi.patrol_core.FaultMonth
import uniffi.patrol_core.PatrolException
import uniffi.patrol_core.SignedInPerson
import uniffi.patrol_protocol.FaultAction
import uniffi.patrol_protocol.FaultRule
import uniffi.patrol_protocol.FaultView
import uniffi.patrol_protocol.Id
import uniffi.patrol_protocol.PhotoContext
import uniffi.patrol_protocol.Role
import uniffi.patrol_protocol.Site

/** Someone a fault notice can be issued to, as this phone knows them. */
data class FaultPerson(val personId: Id, val name: String)

data class FaultForm(
    /** The sites where the signed-in person may issue (supervises, or heads a department). */
    val sites: List<Site> = emptyList(),
    val siteId: Id? = null,
    /** The organisation's rules in force, by code. */
    val rules: List<FaultRule> = emptyList(),
    val ruleId: Id? = null,
    /** Points deducted; null takes the rule's. */
    val points: UInt? = null,
    val personId: Id? = null,
    val personName: String = "",
    val seen: String = "",
    val location: String = "",
    val runId: Id? = null,
    val photos: List<String> = emptyList(),
) {
    val rule: FaultRule? get() = rules.firstOrNull { it.id == ruleId }

    /** What the notice will deduct: the issuer's points, else the rule's. */
    val pointsShown: UInt? get() = points ?: rule?.points
}

/** The sites where [person] may issue fault notices (as the core checks: a supervisor of
 *  the site, the organisation's supervisor, or a department head there). */
fun SignedInPerson.faultSites(all: List<Site>): List<Site> =
    if (roles.any { it is Role.OrgSupervisor }) all
    else {
        val ids = roles.mapNotNull {
            when (it) {
                is Role.SiteSupervisor -> it.siteId
                is Role.DepartmentHead -> it.siteId
                else -> null
            }
        }.toSet()
        all.filter { it.id in ids }
    }

/** Whether [me] may still sign for (or refuse) this notice. */
fun FaultView.canAnswer(me: Id?): Boolean = !voided && personId == me && receipt == "pending"

/** Whether [me] may still appeal this notice (once). */
fun FaultView.canAppeal(me: Id?): Boolean = !voided && personId == me && appeal == null

/** The rule's name in the person's language. */
fun FaultView.ruleName(lang: Lang): String = lang.pick(ruleNameZh, ruleNameEn)

class FaultsModel(
    private val repo: PatrolRepository,
    scope: CoroutineScope,
    private val now: () -> Long = System::currentTimeMillis,
) : ScreenModel(scope) {
    private val _me = MutableStateFlow<SignedInPerson?>(null)
    val me: StateFlow<SignedInPerson?> = _me.asStateFlow()

    /** YYYY-MM shown; empty until the first refresh picks this month in the site's time. */
    private val _month = MutableStateFlow("")
    val month: StateFlow<String> = _month.asStateFlow()

    /** The signed-in person's own notices of the month, newest first. */
    private val _mine = MutableStateFlow<List<FaultView>>(emptyList())
    val mine: StateFlow<List<FaultView>> = _mine.asStateFlow()

    /** The notices the signed-in person issued in the month, newest first. */
    private val _issued = MutableStateFlow<List<FaultView>>(emptyList())
    val issued: StateFlow<List<FaultView>> = _issued.asStateFlow()

    /** The person's month: notices that count, points after appeals, appeals open. */
    private val _summary = MutableStateFlow<FaultMonth?>(null)
    val summary: StateFlow<FaultMonth?> = _summary.asStateFlow()

    private val _selected = MutableStateFlow<FaultView?>(null)
    val selected: StateFlow<FaultView?> = _selected.asStateFlow()

    /** May issue fault notices somewhere (a supervisor or a department head). */
    private val _canIssue = MutableStateFlow(false)
    val canIssue: StateFlow<Boolean> = _canIssue.asStateFlow()

    private val _form = MutableStateFlow(FaultForm())
    val form: StateFlow<FaultForm> = _form.asStateFlow()

    /** People this phone knows from the notices its person issued: the picker's choices. */
    private val _people = MutableStateFlow<List<FaultPerson>>(emptyList())
    val people: StateFlow<List<FaultPerson>> = _people.asStateFlow()

    /** The id of the notice just issued from the form (its number comes with the next sync). */
    private val _issuedId = MutableStateFlow<Id?>(null)
    val issuedId: StateFlow<Id?> = _issuedId.asStateFlow()

    fun refresh() = act { reload() }

    /** Shows another month (YYYY-MM). */
    fun setMonth(month: String) = act {
        YearMonth.parse(month) // a malformed month fails here, before the core is asked
        _month.value = month
        reload()
    }

    fun previousMonth() = shiftMonth(-1)
    fun nextMonth() = shiftMonth(1)

    private fun shiftMonth(by: Long) = act {
        val m = _month.value.ifEmpty { null } ?: currentMonth()
        _month.value = YearMonth.parse(m).plusMonths(by).toString()
        reload()
    }

    /** This month in the person's site's time (the server counts months so). */
    private suspend fun currentMonth(): String {
        val sites = repo.sites()
        val roleSite = _me.value?.roles?.firstNotNullOfOrNull {
            when (it) {
                is Role.PatrolStaff -> it.siteId
                is Role.SiteSupervisor -> it.siteId
                is Role.DepartmentHead -> it.siteId
                is Role.DepartmentStaff -> it.siteId
                else -> null
            }
        }
        val site = sites.firstOrNull { it.id == roleSite } ?: sites.firstOrNull()
        return Formats.month(now(), site?.utcOffsetMinutes ?: 480)
    }

    private suspend fun reload() {
        val person = repo.person()
        _me.value = person
        _canIssue.value = person?.capabilities()?.supervise == true
        if (_month.value.isEmpty()) _month.value = currentMonth()
        val month = _month.value
        val me = person?.personId
        val list = repo.faults(month)
        _mine.value = list.filter { it.personId == me }
        _issued.value = list.filter { it.issuerId == me && it.personId != me }
        _summary.value = if (person != null) repo.faultMonth(month) else null
        _people.value = repo.faults(null)
            .filter { it.issuerId == me && it.personId != me }
            .map { FaultPerson(it.personId, it.personName) }
            .distinctBy { it.personId }
            .sortedBy { it.name }
        _selected.value?.let { s -> _selected.value = runCatching { repo.fault(s.id) }.getOrNull() ?: s }
    }

    fun select(id: Id) = act { _selected.value = repo.fault(id) }

    /**
     * Opens a notice that may not be on this phone yet (a message link): one sync first
     * if the core does not know it, then the core's not-found error if it still does not.
     */
    fun open(id: Id) = act {
        _selected.value = null
        _selected.value = try {
            repo.fault(id)
        } catch (e: PatrolException.NotFound) {
            repo.sync(null, null)
            repo.fault(id)
        }
        reload()
    }

    private fun selectedId(): Id = checkNotNull(_selected.value) { "no fault notice selected" }.id

    /** 签收: signs for receipt (the points stand either way). */
    fun signFor() = act { perform(FaultAction.ACKNOWLEDGE, "") }

    /** 拒签: refuses to sign; kept on the notice, the points stand unless appealed. */
    fun refuse(reason: String) = act { perform(FaultAction.REFUSE, reason) }

    /** 申诉: appeals once, with a reason, to one level above the issuer. */
    fun appeal(reason: String) = act { perform(FaultAction.APPEAL, reason) }

    private suspend fun perform(action: FaultAction, reason: String) {
        val id = selectedId()
        repo.actOnFault(id, action, reason)
        _selected.value = repo.fault(id)
        reload()
    }

    // Issuing

    /** Opens the form: the sites where one may issue, the rules in force; from a run, its site and place. */
    fun openForm(siteId: Id? = null, runId: Id? = null, location: String = ""): Job {
        // Cleared at once: a screen opened right after this must not see the last notice as just issued.
        _issuedId.value = null
        _form.value = FaultForm(siteId = siteId, runId = runId, location = location)
        return act {
            val sites = repo.person()?.faultSites(repo.sites()).orEmpty()
            val rules = repo.faultRules()
            _form.update { f ->
                f.copy(sites = sites, siteId = f.siteId ?: sites.firstOrNull()?.id, rules = rules)
            }
        }
    }

    fun site(id: Id) = _form.update { it.copy(siteId = id) }
    fun rule(id: Id) = _form.update { it.copy(ruleId = id, points = null) }
    fun points(p: UInt?) = _form.update { it.copy(points = p) }
    fun person(id: Id, name: String) = _form.update { it.copy(personId = id, personName = name) }
    fun seen(text: String) = _form.update { it.copy(seen = text) }
    fun location(text: String) = _form.update { it.copy(location = text) }

    fun addPhoto(bytes: ByteArray, fix: Fix?) = act {
        val f = _form.value
        val stored = repo.addPhoto(bytes, PhotoContext(f.runId, null, null), f.siteId, fix?.latitude, fix?.longitude)
        _form.update { it.copy(photos = (it.photos + stored.sha256).distinct()) }
    }

    fun removePhoto(sha: String) = _form.update { it.copy(photos = it.photos - sha) }

    fun submit() = act {
        val f = _form.value
        val site = f.siteId ?: throw PatrolException.InvalidInput("site_id", "no site where you may issue: sync first", "没有可开单的项目：请先同步")
        val rule = f.ruleId ?: throw PatrolException.InvalidInput("rule_id", "choose the rule", "请选择考核条款")
        val person = f.personId ?: throw PatrolException.InvalidInput("person_id", "choose the person", "请选择被开单人")
        _issuedId.value = repo.issueFault(
            FaultDraft(
                siteId = site, personId = person, ruleId = rule, points = f.points,
                seen = f.seen, location = f.location, runId = f.runId, photos = f.photos,
            ),
        )
        _form.update { FaultForm(sites = it.sites, siteId = it.siteId, rules = it.rules) }
        reload()
    }
}
