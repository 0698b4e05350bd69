// Raise a rectification notice: department, severity, due, location, description,
// photos (each of which can be marked up). Saved offline; the number comes with the
// next sync.
package app.patrol.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.patrol.android.R
import app.patrol.android.platform.rememberPhotoTaker
import app.patrol.logic.NoticeForm
import app.patrol.logic.pick
import uniffi.patrol_protocol.Severity

@Composable
fun RaiseNoticeScreen(vm: PatrolViewModel, done: () -> Unit, markup: (String) -> Unit) {
    val model = vm.raise
    val lang = currentLang()
    val form by model.form.collectAsStateWithLifecycle()
    val busy by model.busy.collectAsStateWithLifecycle()
    val error by model.error.collectAsStateWithLifecycle()
    val created by model.created.collectAsStateWithLifecycle()
    val takePhoto = rememberPhotoTaker { bytes -> model.addPhoto(bytes, null) }
    LaunchedEffect(created) { if (created != null) done() }

    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text(stringResource(R.string.notice_new_title), style = MaterialTheme.typography.titleLarge)
        if (busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorBanner(error, model::dismissError)
        Section(stringResource(R.string.department)) {
            LazyRow(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                items(form.departments, key = { it.id }) { d ->
                    FilterChip(selected = form.departmentId == d.id, onClick = { model.department(d.id) },
                        label = { Text(lang.pick(d.nameZh, d.nameEn)) })
                }
            }
        }
        Section(stringResource(R.string.severity)) {
            Row(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                FilterChip(selected = form.severity == Severity.GENERAL, onClick = { model.severity(Severity.GENERAL) },
                    label = { Text(stringResource(R.string.severity_general)) })
                FilterChip(selected = form.severity == Severity.SERIOUS, onClick = { model.severity(Severity.SERIOUS) },
                    label = { Text(stringResource(R.string.severity_serious)) })
            }
        }
        Section(stringResource(R.string.due)) {
            LazyRow(horizontalArrangement = Arrangement.spacedBy(6.dp)) {
                items(NoticeForm.DUE_CHOICES) { h ->
                    FilterChip(selected = form.dueInHours == h, onClick = { model.dueInHours(h) },
                        label = { Text(stringResource(R.string.due_hours, h)) })
                }
            }
        }
        OutlinedTextField(form.location, model::location, label = { Text(stringResource(R.string.location)) }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(form.description, model::description, label = { Text(stringResource(R.string.description)) },
            minLines = 3, modifier = Modifier.fillMaxWidth(),
            isError = error?.field == "description")
        Text(stringResource(R.string.photos_count, form.photos.size))
        PhotoStrip(form.photos, onMarkup = markup)
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton(onClick = takePhoto, enabled = !busy) { Text(stringResource(R.string.take_photo)) }
            Button(onClick = model::submit, enabled = !busy) { Text(stringResource(R.string.submit)) }
        }
        Text(stringResource(R.string.notice_saved), style = MaterialTheme.typography.bodySmall)
    }
}
