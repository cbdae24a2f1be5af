"""Officer-facing strings in Kazakh, Russian and English (UI and CLI).

Every key has all three languages; a test enforces it. Form 2's legal wording lives in
``notices.forms``, not here.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {
        "kk": "Күзет — мониторинг",
        "ru": "Күзет — мониторинг",
        "en": "Kuzet — monitoring",
    },
    "nav.queue": {"kk": "Тексеру кезегі", "ru": "Очередь проверки", "en": "Review queue"},
    "nav.notices": {"kk": "Хабарламалар", "ru": "Уведомления", "en": "Notices"},
    "nav.logout": {"kk": "Шығу", "ru": "Выйти", "en": "Log out"},
    "login.title": {"kk": "Жүйеге кіру", "ru": "Вход в систему", "en": "Sign in"},
    "login.username": {"kk": "Пайдаланушы аты", "ru": "Имя пользователя", "en": "Username"},
    "login.password": {"kk": "Құпия сөз", "ru": "Пароль", "en": "Password"},
    "login.submit": {"kk": "Кіру", "ru": "Войти", "en": "Sign in"},
    "login.failed": {
        "kk": "Пайдаланушы аты немесе құпия сөз қате.",
        "ru": "Неверное имя пользователя или пароль.",
        "en": "Wrong username or password.",
    },
    "login.blocked": {
        "kk": "Кіру әрекеттері тым көп. 15 минуттан кейін қайталаңыз.",
        "ru": "Слишком много попыток входа. Повторите через 15 минут.",
        "en": "Too many sign-in attempts. Try again in 15 minutes.",
    },
    "queue.title": {
        "kk": "Анықталған материалдар",
        "ru": "Выявленные материалы",
        "en": "Detections",
    },
    "queue.empty": {"kk": "Кезек бос.", "ru": "Очередь пуста.", "en": "The queue is empty."},
    "queue.filter": {"kk": "Сүзгі", "ru": "Фильтр", "en": "Filter"},
    "queue.all": {"kk": "Барлығы", "ru": "Все", "en": "All"},
    "col.id": {"kk": "№", "ru": "№", "en": "#"},
    "col.url": {"kk": "URL", "ru": "URL", "en": "URL"},
    "col.type": {"kk": "Бұзушылық түрі", "ru": "Вид нарушения", "en": "Violation type"},
    "col.rule": {"kk": "Ереже", "ru": "Правило", "en": "Rule"},
    "col.severity": {"kk": "Маңыздылығы", "ru": "Важность", "en": "Severity"},
    "col.status": {"kk": "Мәртебе", "ru": "Статус", "en": "Status"},
    "col.capture": {"kk": "Скриншот", "ru": "Скриншот", "en": "Screenshot"},
    "col.found": {"kk": "Анықталды", "ru": "Выявлено", "en": "Found"},
    "status.pending": {"kk": "Тексеруде", "ru": "На проверке", "en": "Pending"},
    "status.open": {"kk": "Шешілмегендер", "ru": "Нерешённые", "en": "Open"},
    "status.needs_info": {
        "kk": "Қосымша мәлімет керек",
        "ru": "Нужны сведения",
        "en": "Needs information",
    },
    "queue.source": {"kk": "Дереккөз", "ru": "Источник", "en": "Source"},
    "queue.since": {"kk": "Бастап", "ru": "С", "en": "From"},
    "queue.until": {"kk": "Дейін", "ru": "По", "en": "To"},
    "queue.select": {"kk": "Таңдау", "ru": "Выбор", "en": "Select"},
    "queue.bulk": {
        "kk": "Таңдалғандарға бір шешім",
        "ru": "Одно решение для выбранных",
        "en": "One decision for the selected",
    },
    "queue.bulk_done": {
        "kk": "Шешім қабылданды: {n}.",
        "ru": "Решений принято: {n}.",
        "en": "Decisions made: {n}.",
    },
    "queue.keys": {
        "kk": "Пернелер: j / k — жол, o — ашу, x — таңдау.",
        "ru": "Клавиши: j / k — строка, o — открыть, x — выбрать.",
        "en": "Keys: j / k row, o open, x select.",
    },
    "detail.keys": {
        "kk": "Пернелер: c — растау, r — бас тарту себебі, i — сұрақ, n — келесі, z — үлкейту.",
        "ru": "Клавиши: c — подтвердить, r — причина отказа, i — вопрос, n — следующее, "
        "z — увеличить.",
        "en": "Keys: c confirm, r reason to reject, i question, n next, z zoom.",
    },
    "detail.next": {"kk": "Келесі", "ru": "Следующее", "en": "Next"},
    "detail.graphic": {
        "kk": "Ауыр мазмұн",
        "ru": "Тяжёлое содержимое",
        "en": "Graphic content",
    },
    "detail.reveal": {"kk": "көрсету", "ru": "показать", "en": "show"},
    "detail.zoom": {"kk": "Нақты өлшемде", "ru": "В натуральную величину", "en": "Actual size"},
    "detail.hash_ok": {"kk": "хеш сәйкес", "ru": "хеш совпадает", "en": "hash matches"},
    "detail.hash_bad": {
        "kk": "хеш сәйкес емес немесе файл жоқ",
        "ru": "хеш не совпадает или файла нет",
        "en": "hash mismatch or file missing",
    },
    "detail.history": {"kk": "Беттің тарихы", "ru": "История страницы", "en": "Page history"},
    "detail.done.confirmed": {"kk": "Расталды.", "ru": "Подтверждено.", "en": "Confirmed."},
    "detail.done.rejected": {"kk": "Қабылданбады.", "ru": "Отклонено.", "en": "Rejected."},
    "detail.done.needs_info": {
        "kk": "Қосымша мәлімет сұралды.",
        "ru": "Запрошены сведения.",
        "en": "More information requested.",
    },
    "action.needs_info": {"kk": "Мәлімет сұрау", "ru": "Запросить сведения", "en": "Ask for more"},
    "action.question_help": {
        "kk": "Не жетіспейді (міндетті)",
        "ru": "Чего не хватает (обязательно)",
        "en": "What is missing (required)",
    },
    "error.question_required": {
        "kk": "Қандай мәлімет керек екенін жазыңыз.",
        "ru": "Напишите, каких сведений не хватает.",
        "en": "Write what information is missing.",
    },
    "error.unknown_decision": {
        "kk": "Белгісіз шешім.",
        "ru": "Неизвестное решение.",
        "en": "Unknown decision.",
    },
    "error.nothing_selected": {
        "kk": "Ештеңе таңдалмады.",
        "ru": "Ничего не выбрано.",
        "en": "Nothing selected.",
    },
    "status.confirmed": {"kk": "Расталды", "ru": "Подтверждено", "en": "Confirmed"},
    "status.rejected": {"kk": "Қабылданбады", "ru": "Отклонено", "en": "Rejected"},
    "capture.queued": {"kk": "Кезекте", "ru": "В очереди", "en": "Queued"},
    "capture.retrying": {
        "kk": "Қайталау күтілуде",
        "ru": "Ожидает повтора",
        "en": "Waiting to retry",
    },
    "capture.running": {"kk": "Түсірілуде", "ru": "Снимается", "en": "Running"},
    "capture.succeeded": {"kk": "Дайын", "ru": "Готов", "en": "Done"},
    "capture.failed": {"kk": "Сәтсіз", "ru": "Ошибка", "en": "Failed"},
    "capture.none": {"kk": "Жоқ", "ru": "Нет", "en": "None"},
    "detail.title": {"kk": "Анықтама", "ru": "Выявление", "en": "Detection"},
    "detail.matched": {"kk": "Сәйкес келген мәтін", "ru": "Совпавший текст", "en": "Matched text"},
    "detail.rule": {"kk": "Ереже", "ru": "Правило", "en": "Rule"},
    "detail.why": {"kk": "Неліктен белгіленді", "ru": "Почему отмечено", "en": "Why flagged"},
    "why.all": {"kk": "барлық шарт", "ru": "все условия", "en": "all of"},
    "why.any": {"kk": "кемінде бір шарт", "ru": "хотя бы одно условие", "en": "any of"},
    "why.not": {"kk": "болмауы тиіс", "ru": "не должно быть", "en": "none of"},
    "why.keywords": {"kk": "кілт сөздер", "ru": "ключевые слова", "en": "keywords"},
    "why.near": {"kk": "сөздер қатар", "ru": "слова рядом", "en": "words near each other"},
    "why.regex": {"kk": "үлгі (regex)", "ru": "шаблон (regex)", "en": "pattern (regex)"},
    "why.url": {"kk": "URL үлгісі", "ru": "шаблон URL", "en": "URL pattern"},
    "why.domain": {"kk": "домен тізімде", "ru": "домен в списке", "en": "listed domain"},
    "why.lookalike": {"kk": "ұқсас домен", "ru": "похожий домен", "en": "look-alike domain"},
    "why.signal": {"kk": "бет белгілері", "ru": "признаки страницы", "en": "page signals"},
    "why.image": {"kk": "белгілі сурет", "ru": "известное изображение", "en": "known image"},
    "why.within": {"kk": "{n} сөз ішінде", "ru": "в пределах {n} слов", "en": "within {n} words"},
    "detail.rule_version": {"kk": "Нұсқасы", "ru": "Версия", "en": "Version"},
    "detail.legal_norm": {"kk": "Заң нормасы", "ru": "Норма закона", "en": "Legal norm"},
    "detail.capture": {
        "kk": "Түсірілім деректері",
        "ru": "Данные снимка",
        "en": "Capture metadata",
    },
    "detail.capture_failed": {
        "kk": "Скриншот түсірілмеді",
        "ru": "Скриншот не снят",
        "en": "The screenshot was not captured",
    },
    "detail.final_url": {"kk": "Соңғы URL", "ru": "Итоговый URL", "en": "Final URL"},
    "detail.http_status": {"kk": "HTTP коды", "ru": "Код HTTP", "en": "HTTP status"},
    "detail.server_ip": {"kk": "Сервер IP", "ru": "IP сервера", "en": "Server IP"},
    "detail.protocol": {"kk": "Хаттама", "ru": "Протокол", "en": "Protocol"},
    "detail.captured_at": {
        "kk": "Түсірілген уақыты (UTC)",
        "ru": "Время снимка (UTC)",
        "en": "Captured at (UTC)",
    },
    "detail.highlighted": {
        "kk": "Белгіленген үзінді",
        "ru": "Отмеченный фрагмент",
        "en": "Matched passage",
    },
    "detail.full_page": {
        "kk": "Беттің толық скриншоты",
        "ru": "Полный снимок страницы",
        "en": "Full page",
    },
    "detail.tls": {"kk": "TLS", "ru": "TLS", "en": "TLS"},
    "detail.redirects": {"kk": "Қайта бағыттаулар", "ru": "Перенаправления", "en": "Redirects"},
    "detail.files": {"kk": "Дәлел файлдары", "ru": "Файлы доказательств", "en": "Evidence files"},
    "detail.browser": {"kk": "Браузер", "ru": "Браузер", "en": "Browser"},
    "detail.sha256": {"kk": "SHA-256", "ru": "SHA-256", "en": "SHA-256"},
    "detail.size": {"kk": "Көлемі, байт", "ru": "Размер, байт", "en": "Size, bytes"},
    "detail.page_title": {"kk": "Бет тақырыбы", "ru": "Заголовок страницы", "en": "Page title"},
    "detail.decision": {"kk": "Шешім", "ru": "Решение", "en": "Decision"},
    "detail.decided_by": {"kk": "Шешім қабылдаған", "ru": "Решение принял", "en": "Decided by"},
    "detail.reason": {"kk": "Негіздеме", "ru": "Обоснование", "en": "Reason"},
    "action.confirm": {"kk": "Растау", "ru": "Подтвердить", "en": "Confirm"},
    "action.reject": {"kk": "Қабылдамау", "ru": "Отклонить", "en": "Reject"},
    "action.reason_help": {
        "kk": "Бұзушылықтың жоқ екенінің негіздемесі (Қағидалардың 11-тармағы) — міндетті",
        "ru": "Обоснование отсутствия нарушения (пункт 11 Правил) — обязательно",
        "en": "Why there is no violation (Rule 11) — required",
    },
    "error.reason_required": {
        "kk": "Қабылдамау үшін жазбаша негіздеме міндетті (Қағидалардың 11-тармағы).",
        "ru": "Для отклонения обязательно письменное обоснование (пункт 11 Правил).",
        "en": "A written reason is required to reject (Rule 11).",
    },
    "error.already_decided": {
        "kk": "Бұл материал бойынша шешім қабылданған.",
        "ru": "По этому материалу решение уже принято.",
        "en": "This detection has already been decided.",
    },
    "error.forbidden": {
        "kk": "Сіздің рөліңізге бұл әрекетке рұқсат жоқ.",
        "ru": "Вашей роли это действие не разрешено.",
        "en": "Your role may not do this.",
    },
    "error.csrf": {
        "kk": "Сессия ескірді, бетті жаңартыңыз.",
        "ru": "Сессия устарела, обновите страницу.",
        "en": "Your session expired; reload the page.",
    },
    "flash.confirmed": {"kk": "Расталды.", "ru": "Подтверждено.", "en": "Confirmed."},
    "flash.rejected": {"kk": "Қабылданбады.", "ru": "Отклонено.", "en": "Rejected."},
    "notices.title": {
        "kk": "Хабарламалар (2-нысан)",
        "ru": "Уведомления (форма 2)",
        "en": "Notices (Form 2)",
    },
    "notices.build": {
        "kk": "Расталғандардан жобаларды құру",
        "ru": "Собрать проекты из подтверждённых",
        "en": "Build drafts from confirmed detections",
    },
    "notices.empty": {"kk": "Хабарламалар жоқ.", "ru": "Уведомлений нет.", "en": "No notices."},
    "notices.facts": {"kk": "Фактілер", "ru": "Факты", "en": "Facts"},
    "notice.recheck": {"kk": "Қайта тексеру", "ru": "Повторная проверка", "en": "Re-check"},
    "notice.next_check": {"kk": "келесісі", "ru": "следующая", "en": "next"},
    "recheck.pending": {"kk": "Күтілуде", "ru": "Ожидается", "en": "Pending"},
    "recheck.removed": {"kk": "Жойылды", "ru": "Удалено", "en": "Removed"},
    "recheck.still_available": {
        "kk": "Әлі қолжетімді",
        "ru": "Всё ещё доступно",
        "en": "Still available",
    },
    "notice.saved": {"kk": "Сақталды.", "ru": "Сохранено.", "en": "Saved."},
    "notice.authority": {
        "kk": "Уәкілетті органның атауы",
        "ru": "Наименование уполномоченного органа",
        "en": "Authority",
    },
    "notice.save": {"kk": "Сақтау", "ru": "Сохранить", "en": "Save"},
    "notice.signed_by": {"kk": "Қол қойған", "ru": "Подписал", "en": "Signed by"},
    "notice.sent_at": {"kk": "Жіберілген уақыты", "ru": "Отправлено", "en": "Sent at"},
    "notice.supersedes": {"kk": "Ауыстырады", "ru": "Заменяет", "en": "Supersedes"},
    "notice.remove_fact": {"kk": "Алып тастау", "ru": "Убрать", "en": "Remove"},
    "notice.add_facts": {
        "kk": "Расталған материалдарды қосу",
        "ru": "Добавить подтверждённые материалы",
        "en": "Add confirmed detections",
    },
    "notice.add": {"kk": "Қосу", "ru": "Добавить", "en": "Add"},
    "notice.sign": {"kk": "Қол қою", "ru": "Подписать", "en": "Sign"},
    "notice.key_file": {
        "kk": "Басшының кілті (PKCS#12)",
        "ru": "Ключ руководителя (PKCS#12)",
        "en": "Head's key (PKCS#12)",
    },
    "notice.key_note": {
        "kk": "Кілт тек осы қолтаңба үшін жадта қолданылады және сақталмайды.",
        "ru": "Ключ используется в памяти только для этой подписи и не сохраняется.",
        "en": "The key is used in memory for this signature only and is never stored.",
    },
    "notice.mark_sent": {
        "kk": "Жіберілді деп белгілеу",
        "ru": "Отметить как отправленное",
        "en": "Mark sent",
    },
    "notice.revise": {
        "kk": "Осының негізінде жаңа жоба",
        "ru": "Новый проект на его основе",
        "en": "New draft from this notice",
    },
    "notice.locked_note": {
        "kk": "Қол қойылған хабарлама өзгертілмейді: кез келген түзету жаңа жоба жасайды.",
        "ru": "Подписанное уведомление не изменяется: любая правка создаёт новый проект.",
        "en": "A signed notice is never changed: any edit makes a new draft.",
    },
    "error.notice_locked": {
        "kk": "№{id} хабарламаға қол қойылған, оны өзгертуге болмайды.",
        "ru": "Уведомление №{id} подписано и не изменяется.",
        "en": "Notice {id} is signed and cannot change.",
    },
    "error.no_such_fact": {
        "kk": "{id} факт табылмады.",
        "ru": "Факт {id} не найден.",
        "en": "No fact {id}.",
    },
    "error.no_such_notice": {
        "kk": "№{id} хабарлама жоқ.",
        "ru": "Уведомления №{id} нет.",
        "en": "No notice {id}.",
    },
    "error.detection_does_not_fit": {
        "kk": "Бұл хабарламаға сай келмейді: {ids}.",
        "ru": "Не подходят к этому уведомлению: {ids}.",
        "en": "Do not fit this notice: {ids}.",
    },
    "error.key_required": {
        "kk": "Кілт файлын таңдаңыз.",
        "ru": "Выберите файл ключа.",
        "en": "Choose the key file.",
    },
    "notices.built": {
        "kk": "Құрылған жобалар: {n}.",
        "ru": "Создано проектов: {n}.",
        "en": "Drafts created: {n}.",
    },
    "notice.status.draft": {"kk": "Жоба", "ru": "Проект", "en": "Draft"},
    "notice.status.signed": {"kk": "Қол қойылды", "ru": "Подписано", "en": "Signed"},
    "notice.status.sent": {"kk": "Жіберілді", "ru": "Отправлено", "en": "Sent"},
    "notice.status.withdrawn": {"kk": "Кері қайтарылды", "ru": "Отозвано", "en": "Withdrawn"},
    "notice.status.removed": {"kk": "Жойылды", "ru": "Удалено", "en": "Removed"},
    "notice.status.still_available": {
        "kk": "Әлі қолжетімді",
        "ru": "Всё ещё доступно",
        "en": "Still available",
    },
    "notice.status.restricted": {
        "kk": "Қолжетімділік шектелді",
        "ru": "Доступ ограничен",
        "en": "Restricted",
    },
    "notice.status.superseded": {
        "kk": "Жаңа жобамен ауыстырылды",
        "ru": "Заменено новым проектом",
        "en": "Superseded",
    },
    # Invalid YAML files (rule packs, watchlists): the reason after "file:line: field:".
    "file.not_utf8": {
        "kk": "UTF-8 мәтіні емес ({byte}-байтта)",
        "ru": "не текст в UTF-8 (байт {byte})",
        "en": "not UTF-8 text (at byte {byte})",
    },
    "file.unreadable": {
        "kk": "файлды оқу мүмкін емес: {error}",
        "ru": "не удаётся прочитать файл: {error}",
        "en": "cannot read: {error}",
    },
    "file.empty": {"kk": "файл бос", "ru": "файл пуст", "en": "the file is empty"},
    "file.invalid_yaml": {
        "kk": "YAML қатесі: {problem}",
        "ru": "ошибка YAML: {problem}",
        "en": "invalid YAML: {problem}",
    },
    "file.duplicate_key": {
        "kk": "кілт қайталанады",
        "ru": "ключ повторяется",
        "en": "duplicate key",
    },
    "file.unknown_field": {
        "kk": "белгісіз өріс",
        "ru": "неизвестное поле",
        "en": "unknown field",
    },
    "file.missing_field": {
        "kk": "міндетті өріс жоқ",
        "ru": "обязательное поле отсутствует",
        "en": "required field missing",
    },
    "file.bad_regex": {
        "kk": "тұрақты өрнек (regex) қате: {error}",
        "ru": "регулярное выражение не компилируется: {error}",
        "en": "regex does not compile: {error}",
    },
    "rules.not_a_pack": {
        "kk": "топтама 'pack' және 'rules' кілттері бар mapping болуы керек",
        "ru": "набор правил должен быть mapping с ключами 'pack' и 'rules'",
        "en": "a pack must be a mapping with 'pack' and 'rules'",
    },
    "rules.unknown_violation_type": {
        "kk": "белгісіз бұзушылық түрі {value!r} (белгілілері: {known})",
        "ru": "неизвестный вид нарушения {value!r} (известные: {known})",
        "en": "unknown violation type {value!r} (known: {known})",
    },
    "rules.domain_list_missing": {
        "kk": "{name!r} домендер тізімі табылмады ({file})",
        "ru": "список доменов {name!r} не найден ({file})",
        "en": "domain list {name!r} not found (looked for {file})",
    },
    "rules.no_catalog": {
        "kk": "бұзушылық түрлерінің каталогы жоқ",
        "ru": "нет каталога видов нарушений",
        "en": "the violation-type catalog is missing",
    },
    "rules.no_packs": {
        "kk": "ереже топтамалары (*.yaml) табылмады",
        "ru": "наборы правил (*.yaml) не найдены",
        "en": "no rule packs (*.yaml) found",
    },
    "rules.duplicate_id": {
        "kk": "ереже идентификаторы {id!r} қайталанады (сондай-ақ {other} файлында)",
        "ru": "идентификатор правила {id!r} повторяется (также в {other})",
        "en": "duplicate rule id {id!r} (also in {other})",
    },
    "rules.no_such_pack": {
        "kk": "{pack!r} топтамасы жоқ (барлары: {known})",
        "ru": "нет набора {pack!r} (есть: {known})",
        "en": "no pack {pack!r} (packs: {known})",
    },
    "cli.rules_valid": {
        "kk": "{n} ереже дұрыс ({path}).",
        "ru": "Правил без ошибок: {n} ({path}).",
        "en": "{n} rules OK ({path}).",
    },
    "cli.rule_should_match": {
        "kk": "табуы керек еді",
        "ru": "должно совпасть",
        "en": "should match",
    },
    "cli.rule_should_not_match": {
        "kk": "таппауы керек еді",
        "ru": "не должно совпасть",
        "en": "should NOT match",
    },
    "cli.report_written": {
        "kk": "Есеп: {path}",
        "ru": "Отчёт: {path}",
        "en": "report: {path}",
    },
    "cli.rules_ok": {
        "kk": "{n} ереже тексерілді, {tests} мысал — бәрі дұрыс.",
        "ru": "Проверено правил: {n}, примеров: {tests} — все верны.",
        "en": "{n} rules, {tests} examples — all pass.",
    },
    "cli.eval_by_category": {
        "kk": "Санаттар бойынша",
        "ru": "По категориям",
        "en": "By category",
    },
    "cli.eval_by_rule": {
        "kk": "Ережелер бойынша",
        "ru": "По правилам",
        "en": "By rule",
    },
    "cli.eval_done": {
        "kk": "{n} құжат бағаланды.",
        "ru": "Оценено документов: {n}.",
        "en": "{n} documents evaluated.",
    },
    "cli.verify_ok": {
        "kk": "Тексерілген түсірілімдер: {n}. Барлық файл өз хешіне сәйкес, "
        "сақтау журналының тізбегі бүтін.",
        "ru": "Проверено снимков: {n}. Все файлы соответствуют своим хешам, "
        "цепочка журнала хранения не нарушена.",
        "en": "Captures verified: {n}. Every file matches its hash; the custody log "
        "chain is intact.",
    },
    "cli.verify_failed": {
        "kk": "Тексерілген түсірілімдер: {n}. Бұзушылықтар табылды: {problems}.",
        "ru": "Проверено снимков: {n}. Найдены нарушения: {problems}.",
        "en": "Captures verified: {n}. Problems found: {problems}.",
    },
    "cli.capture_done": {
        "kk": "Түсірілім {id}: {status}. Манифест: {manifest}",
        "ru": "Снимок {id}: {status}. Манифест: {manifest}",
        "en": "Capture {id}: {status}. Manifest: {manifest}",
    },
    "cli.capture_failed": {
        "kk": "Түсірілім {id} сәтсіз: {error}",
        "ru": "Снимок {id} не удался: {error}",
        "en": "Capture {id} failed: {error}",
    },
    "cli.backtest_summary": {
        "kk": "«{pack}» пакеті {pages} бетте: жаңадан белгіленеді — {new}, "
        "белгіленбейтін болады — {gone}, бұрынғыдай — {same}.",
        "ru": "Пакет «{pack}» на {pages} страницах: будет отмечено впервые — {new}, "
        "перестанет отмечаться — {gone}, без изменений — {same}.",
        "en": "Pack '{pack}' on {pages} pages: newly flagged {new}, "
        "no longer flagged {gone}, unchanged {same}.",
    },
    "cli.rules_failed": {
        "kk": "Ереже мысалдарының {n} қатесі бар.",
        "ru": "Ошибок в примерах правил: {n}.",
        "en": "{n} rule examples failed.",
    },
    "cli.exported": {"kk": "Жазылды: {path}", "ru": "Записано: {path}", "en": "Written: {path}"},
    "cli.notice_signed": {
        "kk": "Хабарлама №{id} қол қойылды ({signer}); PDF SHA-256: {sha}. "
        "Енді оны өзгертуге болмайды.",
        "ru": "Уведомление №{id} подписано ({signer}); SHA-256 PDF: {sha}. "
        "Теперь оно не изменяется.",
        "en": "Notice {id} signed ({signer}); PDF SHA-256: {sha}. It is locked now.",
    },
    "cli.notice_sent": {
        "kk": "Хабарлама №{id} жіберілді деп белгіленді.",
        "ru": "Уведомление №{id} отмечено как отправленное.",
        "en": "Notice {id} marked sent.",
    },
    "cli.notice_valid": {
        "kk": "Қолтаңба жарамды; қосымшадағы барлық скриншот өз хешіне сәйкес.",
        "ru": "Подпись действительна; все скриншоты приложения соответствуют своим хешам.",
        "en": "The signature is valid; every annex screenshot matches its hash.",
    },
    "cli.notice_invalid": {
        "kk": "Хабарлама тексеруден өтпеді.",
        "ru": "Уведомление не прошло проверку.",
        "en": "The notice failed verification.",
    },
    "cli.inactive": {
        "kk": "{days} күн бойы белсенділігі жоқ есептік жазбалар: {n}.",
        "ru": "Учётных записей без активности {days} дней: {n}.",
        "en": "Accounts with no activity for {days} days: {n}.",
    },
    "cli.form1_written": {
        "kk": "1-нысан жазылды: {path} ({n} қызметкер).",
        "ru": "Форма 1 записана: {path} (сотрудников: {n}).",
        "en": "Form 1 written: {path} ({n} staff).",
    },
    "cli.form1_last": {
        "kk": "1-нысан соңғы рет жіберілген күн: {when}.",
        "ru": "Форма 1 последний раз выгружена: {when}.",
        "en": "Form 1 last exported: {when}.",
    },
    "form1.due": {
        "kk": "1-нысанды жаңарту керек: соңғы нұсқасы алты айдан асқан (5-тармақ).",
        "ru": "Форму 1 пора обновить: последней выгрузке больше полугода (п. 5 Правил).",
        "en": "Form 1 is due: the last export is more than six months old (Rule 5).",
    },
    "alert.urgent": {"kk": "Шұғыл", "ru": "Срочно", "en": "Urgent"},
    "alert.still_available": {
        "kk": "Хабарламадан кейін материал әлі қолжетімді",
        "ru": "После уведомления материал всё ещё доступен",
        "en": "Still available after the notice",
    },
    "alert.last_export": {
        "kk": "Соңғы жіберілгені",
        "ru": "Последняя выгрузка",
        "en": "Last export",
    },
    "alert.inactive": {
        "kk": "Белсенді емес есептік жазбалар (6-тармақ): {n}",
        "ru": "Неактивные учётные записи (п. 6): {n}",
        "en": "Inactive accounts (Rule 6): {n}",
    },
    "alert.digest": {
        "kk": "kuzet: {n} хабарландыру",
        "ru": "kuzet: оповещений — {n}",
        "en": "kuzet: {n} alerts",
    },
    "cli.yes": {"kk": "иә", "ru": "да", "en": "yes"},
    "cli.no": {"kk": "жоқ", "ru": "нет", "en": "no"},
    "verify.signer": {"kk": "Қол қойған", "ru": "Подписал", "en": "Signer"},
    "verify.signed_at": {"kk": "Қол қойылған уақыт", "ru": "Время подписи", "en": "Signed at"},
    "verify.intact": {
        "kk": "Қолтаңбадан кейін өзгертілмеген",
        "ru": "Не изменено после подписи",
        "en": "Unchanged since signing",
    },
    "verify.whole_file": {
        "kk": "Қолтаңба бүкіл файлды қамтиды",
        "ru": "Подпись покрывает весь файл",
        "en": "Signature covers the whole file",
    },
    "verify.trusted": {
        "kk": "Қол қоюшы сенімді",
        "ru": "Подписант доверенный",
        "en": "Signer trusted",
    },
    "verify.fact": {"kk": "Факт", "ru": "Факт", "en": "Fact"},
    "cli.not_found": {
        "kk": "Табылмады: {what}",
        "ru": "Не найдено: {what}",
        "en": "Not found: {what}",
    },
    "demo.pages": {"kk": "Жүктелген беттер", "ru": "Загружено страниц", "en": "Pages crawled"},
    "demo.failed_fetches": {
        "kk": "оның ішінде сәтсіз",
        "ru": "из них с ошибкой",
        "en": "of which failed",
    },
    "demo.detections": {"kk": "Анықталды", "ru": "Выявлено", "en": "Detections"},
    "demo.captures": {
        "kk": "Скриншоттар: сәтті / сәтсіз",
        "ru": "Скриншоты: успешно / ошибка",
        "en": "Captures: ok / failed",
    },
    "demo.notices": {
        "kk": "Хабарлама жобалары",
        "ru": "Проекты уведомлений",
        "en": "Draft notices",
    },
    "demo.summary": {"kk": "Демо нәтижесі", "ru": "Итоги демо", "en": "Demo summary"},
    "demo.serving": {
        "kk": "Тексеру интерфейсі: {url}  (кіру: {user} / {password})",
        "ru": "Интерфейс проверки: {url}  (вход: {user} / {password})",
        "en": "Review UI: {url}  (login: {user} / {password})",
    },
    "demo.summary_file": {
        "kk": "Қорытынды JSON: {path}",
        "ru": "Итоговый JSON: {path}",
        "en": "Summary JSON: {path}",
    },
    "lang.name": {"kk": "Қазақша", "ru": "Русский", "en": "English"},
    # Web hardening: secret key, password policy, passwords on the command line.
    "config.secret_key_weak": {
        "kk": "KUZET_SECRET_KEY әлсіз: мысалдағы кілт немесе {n} таңбадан қысқа. Жаңасын "
        "жасаңыз: python3 -c 'import secrets; print(secrets.token_urlsafe(48))' "
        "(немесе айнымалыны алып тастаңыз, кілт KUZET_HOME/secret_key файлында жасалады).",
        "ru": "KUZET_SECRET_KEY слабый: это ключ из примера или он короче {n} символов. "
        "Создайте новый: python3 -c 'import secrets; print(secrets.token_urlsafe(48))' "
        "(или уберите переменную, и ключ будет создан в файле KUZET_HOME/secret_key).",
        "en": "KUZET_SECRET_KEY is weak: it is the example key or shorter than {n} "
        "characters. Make one: python3 -c 'import secrets; print(secrets.token_urlsafe(48))' "
        "(or unset it, and a key is created in KUZET_HOME/secret_key).",
    },
    "config.chromium_sandbox_invalid": {
        "kk": "KUZET_CHROMIUM_SANDBOX мәні мыналардың бірі болуы тиіс: {modes}; берілгені: "
        "«{value}».",
        "ru": "KUZET_CHROMIUM_SANDBOX должен быть одним из: {modes}; задано: «{value}».",
        "en": "KUZET_CHROMIUM_SANDBOX must be one of {modes}, not '{value}'.",
    },
    "password.too_short": {
        "kk": "Құпия сөз кемінде {n} таңбадан тұруы керек.",
        "ru": "Пароль должен содержать не менее {n} символов.",
        "en": "A password needs at least {n} characters.",
    },
    "password.is_username": {
        "kk": "Құпия сөз пайдаланушы атына ұқсамауы және оны қамтымауы керек.",
        "ru": "Пароль не должен совпадать с именем пользователя или содержать его.",
        "en": "A password must not be the user name or contain it.",
    },
    "password.common": {
        "kk": "Бұл құпия сөз тым жиі қолданылады; басқасын таңдаңыз.",
        "ru": "Этот пароль слишком распространён; выберите другой.",
        "en": "This password is too common; choose another.",
    },
    "cli.password_in_argv": {
        "kk": "Ескерту: --password жолындағы құпия сөзді осы компьютердің басқа "
        "пайдаланушылары процестер тізімінен көреді; --password-env немесе сұрауды қолданыңыз.",
        "ru": "Внимание: пароль из --password виден другим пользователям этого компьютера "
        "в списке процессов; используйте --password-env или ввод по запросу.",
        "en": "Warning: a password given with --password is visible to other users of this "
        "machine in the process list; use --password-env or the prompt.",
    },
    "cli.password_env_unset": {
        "kk": "{var} орта айнымалысы берілмеген.",
        "ru": "Переменная окружения {var} не задана.",
        "en": "The environment variable {var} is not set.",
    },
    "cli.passwords_differ": {
        "kk": "Құпия сөздер сәйкес келмейді.",
        "ru": "Пароли не совпадают.",
        "en": "The passwords differ.",
    },
    "cli.password_changed": {
        "kk": "{user}: құпия сөз өзгертілді, ашық сессиялар жабылды.",
        "ru": "{user}: пароль изменён, открытые сеансы завершены.",
        "en": "{user}: password changed, open sessions ended.",
    },
    # custody log checks and commands
    "custody.link_broken": {
        "kk": "Сақтау журналының {id} жазбасы (№ {seq}): алдыңғы жазбамен байланысы үзілген "
        "(алдындағы жазба жойылған, қосылған немесе орны ауыстырылған)",
        "ru": "Запись журнала хранения {id} (№ {seq}): нарушена связь с предыдущей записью "
        "(запись перед ней удалена, вставлена или переставлена)",
        "en": "custody log entry {id} (no. {seq}): link to the previous entry broken "
        "(an entry before it was removed, inserted or reordered)",
    },
    "custody.altered": {
        "kk": "Сақтау журналының {id} жазбасы (№ {seq}): мазмұны өз хешіне сәйкес емес "
        "(өзгертілген)",
        "ru": "Запись журнала хранения {id} (№ {seq}): содержимое не совпадает со своим хешем "
        "(изменено)",
        "en": "custody log entry {id} (no. {seq}): content does not match its hash (altered)",
    },
    "custody.bad_signature": {
        "kk": "Сақтау журналының {id} жазбасы (№ {seq}): қолтаңба жарамсыз (жазба сақтау "
        "кілтінсіз қайта жазылған)",
        "ru": "Запись журнала хранения {id} (№ {seq}): подпись недействительна (запись "
        "переписана без ключа хранения)",
        "en": "custody log entry {id} (no. {seq}): bad signature (rewritten without the "
        "custody key)",
    },
    "custody.unknown_key": {
        "kk": "Сақтау журналының {id} жазбасы (№ {seq}): белгісіз кілтпен қол қойылған {key_id}",
        "ru": "Запись журнала хранения {id} (№ {seq}): подписана неизвестным ключом {key_id}",
        "en": "custody log entry {id} (no. {seq}): signed with an unknown key {key_id}",
    },
    "custody.unsigned": {
        "kk": "Сақтау журналының {id} жазбасы (№ {seq}): ескі тізбек мөрленгеннен кейін "
        "қолтаңбасыз",
        "ru": "Запись журнала хранения {id} (№ {seq}): без подписи, после запечатывания "
        "старой цепочки",
        "en": "custody log entry {id} (no. {seq}): unsigned, after the legacy chain was sealed",
    },
    "custody.truncated": {
        "kk": "Сақтау журналы қысқартылған: {n} бақылау нүктесінде {count} жазба болған "
        "(соңғы хеш {hash}), қазір тізбекте {found}",
        "ru": "Журнал хранения усечён: контрольная точка {n} фиксировала {count} записей "
        "(последний хеш {hash}), сейчас в цепочке {found}",
        "en": "custody log truncated: checkpoint {n} recorded {count} entries (last hash "
        "{hash}), the chain now has {found}",
    },
    "custody.cp_entry": {
        "kk": "Сақтау журналының № {seq} жазбасы {n} бақылау нүктесі тіркеген жазба емес",
        "ru": "Запись журнала хранения № {seq} — не та, что зафиксировала контрольная точка {n}",
        "en": "custody log entry no. {seq} is not the one checkpoint {n} recorded",
    },
    "custody.head": {
        "kk": "Тізбек басы {count} жазба (соңғысы {hash}) дейді, тізбекте {found} жазба бар",
        "ru": "Голова цепочки указывает {count} записей (последняя {hash}), в цепочке {found}",
        "en": "the chain head records {count} entries (last {hash}), the chain has {found}",
    },
    "custody.cp_missing_db": {
        "kk": "{n} бақылау нүктесі файлда бар, дерекқорда жоқ (жойылған)",
        "ru": "Контрольная точка {n} есть в файле, но не в базе данных (удалена)",
        "en": "checkpoint {n} is in the checkpoints file but not in the database (removed)",
    },
    "custody.cp_missing_file": {
        "kk": "{n} бақылау нүктесі дерекқорда бар, бақылау нүктелері файлында жоқ",
        "ru": "Контрольная точка {n} есть в базе данных, но не в файле контрольных точек",
        "en": "checkpoint {n} is in the database but not in the checkpoints file",
    },
    "custody.cp_differs": {
        "kk": "{n} бақылау нүктесі дерекқор мен файлда әртүрлі",
        "ru": "Контрольная точка {n} различается в базе данных и в файле",
        "en": "checkpoint {n} differs between the database and the checkpoints file",
    },
    "custody.cp_bad_signature": {
        "kk": "{n} бақылау нүктесі: қолтаңба жарамсыз",
        "ru": "Контрольная точка {n}: подпись недействительна",
        "en": "checkpoint {n}: bad signature",
    },
    "custody.cp_unknown_key": {
        "kk": "{n} бақылау нүктесі: белгісіз кілтпен қол қойылған {key_id}",
        "ru": "Контрольная точка {n}: подписана неизвестным ключом {key_id}",
        "en": "checkpoint {n}: signed with an unknown key {key_id}",
    },
    "custody.cp_chain": {
        "kk": "{n} бақылау нүктесі алдыңғысынан кейін келмейді (біреуі жойылған не ауыстырылған)",
        "ru": "Контрольная точка {n} не следует за предыдущей (одна удалена или заменена)",
        "en": "checkpoint {n} does not follow the one before it (one removed or replaced)",
    },
    "custody.cp_timestamp": {
        "kk": "{n} бақылау нүктесі: RFC 3161 уақыт белгісі жарамсыз: {problem}",
        "ru": "Контрольная точка {n}: метка времени RFC 3161 недействительна: {problem}",
        "en": "checkpoint {n}: its RFC 3161 timestamp does not hold: {problem}",
    },
    "custody.access_gap": {
        "kk": "Қарау журналының № {seq} жазбасы жоқ",
        "ru": "Нет записи журнала просмотров № {seq}",
        "en": "access log entry no. {seq} is missing",
    },
    "custody.access_altered": {
        "kk": "Қарау журналы {n} бақылау нүктесіне сәйкес емес (өзгертілген не жойылған)",
        "ru": "Журнал просмотров не совпадает с контрольной точкой {n} (изменён или удалён)",
        "en": "the access log does not match checkpoint {n} (altered or removed)",
    },
    "custody.access_truncated": {
        "kk": "Қарау журналы қысқартылған: {n} бақылау нүктесінде {count} жазба, қазір {found}",
        "ru": "Журнал просмотров усечён: контрольная точка {n} — {count} записей, сейчас {found}",
        "en": "access log truncated: checkpoint {n} recorded {count} entries, it has {found}",
    },
    "cli.checkpoint_done": {
        "kk": "{n} бақылау нүктесі: {count} жазба, соңғы хеш {hash}, кілт {key_id}",
        "ru": "Контрольная точка {n}: {count} записей, последний хеш {hash}, ключ {key_id}",
        "en": "Checkpoint {n}: {count} entries, last hash {hash}, key {key_id}",
    },
    "cli.checkpoint_timestamped": {
        "kk": "RFC 3161 уақыт белгісі алынды: {at}",
        "ru": "Получена метка времени RFC 3161: {at}",
        "en": "RFC 3161 timestamp received: {at}",
    },
    "cli.checkpoint_no_timestamp": {
        "kk": "Уақыт белгісі алынбады: {error}",
        "ru": "Метка времени не получена: {error}",
        "en": "No timestamp: {error}",
    },
    "cli.custody_exported": {
        "kk": "Сақтау журналы {dir} қалтасына шығарылды: {entries} жазба, {checkpoints} "
        "бақылау нүктесі",
        "ru": "Журнал хранения выгружен в {dir}: {entries} записей, {checkpoints} "
        "контрольных точек",
        "en": "Custody log exported to {dir}: {entries} entries, {checkpoints} checkpoints",
    },
    "cli.custody_ok": {
        "kk": "Сақтау журналы бүтін: {entries} жазба, {checkpoints} бақылау нүктесі, кілттер: "
        "{keys}",
        "ru": "Журнал хранения не нарушен: {entries} записей, {checkpoints} контрольных точек, "
        "ключи: {keys}",
        "en": "Custody log intact: {entries} entries, {checkpoints} checkpoints, keys: {keys}",
    },
    "cli.custody_failed": {
        "kk": "Сақтау журналында бұзушылықтар табылды: {problems}",
        "ru": "В журнале хранения найдены нарушения: {problems}",
        "en": "Problems found in the custody log: {problems}",
    },
    "redis.exposed": {
        "kk": "Redis {url} құпия сөзсіз қосылуға рұқсат береді және бұл хостта емес: "
        "желідегі кез келген адам краулер кезегіне жаза алады. Redis-те requirepass "
        "немесе ACL (deploy/redis/kuzet.conf) қосып, KUZET_REDIS_URL-ге пайдаланушы мен "
        "құпия сөзді жазыңыз.",
        "ru": "Redis {url} принимает подключения без пароля и находится не на этом хосте: "
        "любой в сети может писать в очередь краулера. Включите в Redis requirepass "
        "или ACL (deploy/redis/kuzet.conf) и укажите пользователя и пароль в "
        "KUZET_REDIS_URL.",
        "en": "Redis {url} accepts connections without a password and is not on this "
        "host: anyone on the network can write to the crawl queue. Turn on requirepass "
        "or an ACL (deploy/redis/kuzet.conf) in Redis and put the user and password in "
        "KUZET_REDIS_URL.",
    },
    "redis.local_open": {
        "kk": "Redis {url} құпия сөзсіз жұмыс істейді; тек осы хосттағы адрес болғандықтан "
        "рұқсат етіледі.",
        "ru": "Redis {url} работает без пароля; разрешено только потому, что адрес "
        "локальный.",
        "en": "Redis {url} has no password; allowed only because it is on this host.",
    },
}


def t(key: str, lang: str, **kwargs: Any) -> str:
    entry = MESSAGES[key]
    text = entry.get(lang) or entry["kk"]
    return text.format(**kwargs) if kwargs else text


def localized(value: dict[str, Any] | None, lang: str) -> str:
    """Pick a language from a {kk, ru, en} dict stored with data (rule titles, norms)."""
    if not value:
        return ""
    return str(value.get(lang) or value.get("kk") or value.get("ru") or next(iter(value.values())))
