"""Interface strings in English and Russian (the course text itself comes from the bank).

``t(key, lang, **values)`` looks a string up; key descriptions in BINDINGS are English and
double as keys under "key." so that the key bar and the help screen translate them too.
"""

from __future__ import annotations

import os

LANGS = ("en", "ru")

STRINGS: dict[str, tuple[str, str]] = {
    # key bar: binding descriptions (English in the code) and what they read as
    "key.open": ("open", "открыть"),
    "key.search": ("search", "поиск"),
    "key.filter": ("filter", "фильтр"),
    "key.clear": ("clear", "сброс"),
    "key.reviews": ("reviews", "повторить"),
    "key.progress": ("progress", "прогресс"),
    "key.language": ("русский", "english"),
    "key.help": ("help", "справка"),
    "key.quit": ("quit", "выход"),
    "key.back": ("back", "назад"),
    "key.next": ("next", "далее"),
    "key.previous": ("previous", "пред."),
    "key.recall": ("recall", "своими словами"),
    "key.grade": ("grade", "проверить код"),
    "key.try again": ("try again", "ещё раз"),
    "key.reveal": ("reveal", "показать ответ"),
    "key.again": ("again", "снова"),
    "key.hard": ("hard", "трудно"),
    "key.good": ("good", "хорошо"),
    "key.easy": ("easy", "легко"),
    "key.re-run": ("re-run", "перезапуск"),
    "key.choose": ("choose", "выбрать"),
    "key.tick": ("tick", "отметить"),
    "key.check": ("check", "проверить"),
    "key.close": ("close", "закрыть"),
    # course map
    "map.title": ("genlab — course map", "genlab — карта курса"),
    "map.summary": ("{mastered}/{total} mastered · {due} due · streak {streak}", "освоено {mastered}/{total} · к повторению {due} · серия {streak}"),
    "map.search": ("/ search by text or id (q46); enter jumps", "/ поиск по тексту или номеру (q46); enter — перейти"),
    "map.section": ("{mastered}/{total} mastered", "освоено {mastered}/{total}"),
    "map.empty": ("No question matches.", "Ничего не найдено."),
    "filter.all": ("all", "все"),
    "filter.due": ("due", "к повторению"),
    "filter.failing": ("failing", "с ошибками"),
    "filter.new": ("not started", "не начатые"),
    "map.showing": ("showing: {filter}", "показаны: {filter}"),
    # question screen
    "q.item": ("Quiz item {i} of {n}", "Тест {i} из {n}"),
    "q.recall": ("Free recall: answer in your own words", "Ответ своими словами"),
    "q.recall_short": ("Free recall", "Своими словами"),
    "q.exercises": ("exercises: {names} (g grades)", "упражнения: {names} (g — проверить)"),
    "q.theory": ("theory only", "только теория"),
    "q.right": ("Right.", "Верно."),
    "q.wrong": ("Wrong.", "Неверно."),
    "q.missed": ("(the right option you missed)", "(верный вариант, который вы не выбрали)"),
    "q.answer": ("Answer: {answer}", "Ответ: {answer}"),
    "q.not_number": ("Type a number, e.g. 0.5", "Введите число, например 0.5"),
    "q.hint.single": ("↑↓ move · enter or 1–9 answers", "↑↓ выбор · enter или 1–9 — ответить"),
    "q.hint.multiple": ("↑↓ move · space or 1–9 ticks · enter checks", "↑↓ выбор · пробел или 1–9 — отметить · enter — проверить"),
    "q.hint.input": ("type, then enter checks · esc leaves the field", "введите ответ и нажмите enter · esc — выйти из поля"),
    "q.hint.answered": ("t tries again · → next", "t — ещё раз · → — далее"),
    "q.placeholder": ("a number", "число"),
    "q.placeholder_form": ("a number like {form}", "число вида {form}"),
    "q.formula": ("a formula", "формула"),
    # free recall
    "recall.placeholder": (
        "Write your answer; ctrl+r reveals the reference; esc leaves the field.",
        "Напишите ответ; ctrl+r — показать эталон; esc — выйти из поля.",
    ),
    "recall.yours": ("Your answer", "Ваш ответ"),
    "recall.reference": ("Reference answer", "Эталонный ответ"),
    "recall.key_points": ("Key points you covered (space ticks):", "Какие пункты вы раскрыли (пробел — отметить):"),
    "recall.rate": (
        "Covered {ticked}/{total}. Rate yourself: 1 again · 2 hard · 3 good · 4 easy",
        "Раскрыто {ticked}/{total}. Оцените: 1 снова · 2 трудно · 3 хорошо · 4 легко",
    ),
    "recall.rated": ("Rated “{rating}”; next review {when}. t tries again.", "Оценка «{rating}»; следующее повторение {when}. t — ещё раз."),
    "recall.empty": ("(nothing typed)", "(пусто)"),
    "rating.1": ("again", "снова"),
    "rating.2": ("hard", "трудно"),
    "rating.3": ("good", "хорошо"),
    "rating.4": ("easy", "легко"),
    "when.now": ("now", "сейчас"),
    "when.minutes": ("in {n} min", "через {n} мин"),
    "when.hours": ("in {n} h", "через {n} ч"),
    "when.days": ("in {n} d ({date})", "через {n} дн. ({date})"),
    # grading
    "grade.title": ("grade {question} — {files}", "grade {question} — {files}"),
    "grade.running": (
        "Grading {question} in the background… You may go back: the result waits here.",
        "Проверка {question} идёт в фоне… Можно вернуться: результат будет здесь.",
    ),
    "grade.none": ("{question} has no exercises: it is theory only.", "У {question} нет упражнений: только теория."),
    "grade.score": ("Score {score}/{max_score}", "Баллы {score}/{max_score}"),
    "grade.edit": ("Edit the file, save, then press r to grade again.", "Исправьте файл, сохраните и нажмите r, чтобы проверить снова."),
    "grade.no_report": ("The grader gave no report:", "Проверка не дала отчёта:"),
    "grade.minimal": ("minimal failing input:", "минимальный пример, где не выполняется:"),
    "grade.raised_at": ("where your code raised:", "где ваш код выбросил исключение:"),
    "grade.diagnosis": ("diagnosis:", "диагноз:"),
    "grade.printed": ("your code printed:", "ваш код напечатал:"),
    "grade.hidden": ("(hidden) ", "(скрытая) "),
    "grade.stopped": ("stopped:", "остановлено:"),
    "grade.done": ("{question} graded: {score}/{max_score}", "{question} проверен: {score}/{max_score}"),
    "grade.done_error": ("{question}: the grader gave no report", "{question}: проверка не дала отчёта"),
    "status.passed": ("passed", "пройдено"),
    "status.failed": ("failed", "не пройдено"),
    "status.not_implemented": ("not implemented", "не реализовано"),
    "status.error": ("error", "ошибка"),
    "status.timed_out": ("timed out", "превышено время"),
    "status.out_of_memory": ("out of memory", "не хватило памяти"),
    "status.crashed": ("crashed", "аварийное завершение"),
    # reviews
    "rev.title": ("Due today: {n}", "На сегодня: {n}"),
    "rev.empty": (
        "Nothing is due today. Rate a free recall (f on a question) to schedule a question.",
        "На сегодня повторять нечего. Оцените ответ своими словами (f на вопросе), чтобы запланировать повторение.",
    ),
    "rev.overdue": ("due", "пора"),
    "rev.later": ("at {time}", "в {time}"),
    # dashboard
    "dash.title": ("Progress", "Прогресс"),
    "dash.section": ("Section", "Раздел"),
    "dash.quiz": ("Quiz mastery", "Тесты"),
    "dash.exercises": ("Exercises passed", "Упражнения"),
    "dash.due": ("Due", "Повтор"),
    "dash.overall": ("Overall", "Весь курс"),
    "dash.streak": ("Streak: {n} day(s) in a row with answers.", "Серия: {n} дн. подряд с ответами."),
    # help
    "help.title": ("Keys", "Клавиши"),
    "help.map": ("Course map", "Карта курса"),
    "help.question": ("Question", "Вопрос"),
    "help.recall": ("Free recall", "Ответ своими словами"),
    "help.grading": ("Grading", "Проверка кода"),
    "help.anywhere": ("Anywhere", "Везде"),
    "help.legend": ("Legend", "Обозначения"),
    "help.legend_text": (
        "quiz: · not started  ◐ answered  ● mastered\n"
        "exercises: · not started  ✗ failing  ~ edited since graded  ◑ some pass  ✓ passing\n"
        "⟳ due for review today",
        "тест: · не начат  ◐ есть ответы  ● освоен\n"
        "упражнения: · не начаты  ✗ ошибки  ~ изменены после проверки  ◑ часть проходит  ✓ проходят\n"
        "⟳ пора повторить сегодня",
    ),
    # errors
    "error.store": ("The progress store cannot be used", "Файл прогресса недоступен"),
    "error.bank": ("The question bank cannot be loaded", "Не удалось загрузить банк вопросов"),
    "error.quit": ("Nothing was changed. Press q to quit.", "Ничего не изменено. Нажмите q для выхода."),
    "error.write": (
        "Could not save to the progress store: {error}. Your last action is NOT saved; try again.",
        "Не удалось записать в файл прогресса: {error}. Последнее действие НЕ сохранено; попробуйте ещё раз.",
    ),
    "loading": ("Loading the question bank…", "Загрузка банка вопросов…"),
}


def t(key: str, lang: str, **values: object) -> str:
    """The string ``key`` in ``lang``; an unknown key shows itself, so a gap is visible, not fatal."""
    pair = STRINGS.get(key)
    text = key if pair is None else pair[1] if lang == "ru" else pair[0]
    return text.format(**values) if values else text


def key_label(description: str, lang: str) -> str:
    """A binding's description in ``lang`` (as written when there is no translation)."""
    return t("key." + description, lang) if "key." + description in STRINGS else description


def other(lang: str) -> str:
    return "en" if lang == "ru" else "ru"


def default_lang() -> str:
    """From $GENLAB_LANG, else the locale (as `grade show` does), else English."""
    for var in ("GENLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"
