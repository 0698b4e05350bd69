// Colours and the language of names that come from the core (zh or en).
package app.patrol.android.ui

import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.ReadOnlyComposable
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.LocalConfiguration
import app.patrol.logic.Lang

private val colors = lightColorScheme(
    primary = Color(0xFF1B5E9E),
    secondary = Color(0xFF2E7D32),
    error = Color(0xFFC62828),
)

val Overdue = Color(0xFFC62828)
val Done = Color(0xFF2E7D32)

@Composable
fun PatrolTheme(content: @Composable () -> Unit) = MaterialTheme(colorScheme = colors, content = content)

/** English only for phones set to English; Chinese otherwise, like the string resources. */
@Composable
@ReadOnlyComposable
fun currentLang(): Lang = if (LocalConfiguration.current.locales[0].language == "en") Lang.EN else Lang.ZH
