"""The public pages' texts in French and English, and how a page picks its language."""

from __future__ import annotations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "brand": "AMIgo",
        "purpose.email_marketing": "Offres et actualités par e-mail",
        "purpose.sms_marketing": "Offres par SMS",
        "purpose.phone_calls": "Appels téléphoniques",
        "purpose.postal_mail": "Courrier postal",
        "purpose.data_analysis": "Analyse de mes achats pour des offres personnalisées",
        "hello": "Bonjour {name},",
        "hello.anonymous": "Bonjour,",
        "preferences.title": "Mes préférences de contact",
        "preferences.intro": "Cochez ce que vous acceptez de recevoir. Vous pouvez changer d'avis à tout moment.",
        "preferences.save": "Enregistrer mes choix",
        "preferences.saved": "Vos choix sont enregistrés.",
        "preferences.unchanged": "Rien n'a changé : vos choix étaient déjà ceux-ci.",
        "unsubscribe.title": "Désinscription",
        "unsubscribe.ask": "Ne plus recevoir : {purpose} ?",
        "unsubscribe.button": "Me désinscrire",
        "unsubscribe.done": "C'est fait : vous ne recevrez plus « {purpose} ».",
        "unsubscribe.already": "Vous étiez déjà désinscrit(e) de « {purpose} ».",
        "confirm.title": "Confirmation d'inscription",
        "confirm.ask": "Confirmez-vous votre inscription : {purpose} ?",
        "confirm.button": "Je confirme",
        "confirm.done": "Merci, votre inscription est confirmée : {purpose}.",
        "confirm.already": "Votre inscription était déjà confirmée : {purpose}. Rien n'a changé.",
        "preferences.link": "Gérer toutes mes préférences",
        "error.title": "Lien invalide",
        "error.invalid_link": "Ce lien n'est pas valide : il a été modifié ou ne vient pas de nous. Rien n'a été changé.",
        "error.expired_title": "Lien expiré",
        "error.expired_link": "Ce lien a expiré. Rien n'a été changé ; demandez-en un nouveau.",
        "error.bad_request": "Cette demande n'est pas valide. Rien n'a été changé.",
        "language.other": "English",
    },
    "en": {
        "brand": "AMIgo",
        "purpose.email_marketing": "Offers and news by e-mail",
        "purpose.sms_marketing": "Offers by text message",
        "purpose.phone_calls": "Phone calls",
        "purpose.postal_mail": "Postal mail",
        "purpose.data_analysis": "Analysis of my purchases for personalised offers",
        "hello": "Hello {name},",
        "hello.anonymous": "Hello,",
        "preferences.title": "My contact preferences",
        "preferences.intro": "Tick what you agree to receive. You can change your mind at any time.",
        "preferences.save": "Save my choices",
        "preferences.saved": "Your choices are saved.",
        "preferences.unchanged": "Nothing changed: these already were your choices.",
        "unsubscribe.title": "Unsubscribe",
        "unsubscribe.ask": "Stop receiving: {purpose}?",
        "unsubscribe.button": "Unsubscribe me",
        "unsubscribe.done": "Done: you will no longer receive “{purpose}”.",
        "unsubscribe.already": "You were already unsubscribed from “{purpose}”.",
        "confirm.title": "Confirm your subscription",
        "confirm.ask": "Do you confirm your subscription: {purpose}?",
        "confirm.button": "I confirm",
        "confirm.done": "Thank you, your subscription is confirmed: {purpose}.",
        "confirm.already": "Your subscription was already confirmed: {purpose}. Nothing changed.",
        "preferences.link": "Manage all my preferences",
        "error.title": "Invalid link",
        "error.invalid_link": "This link is not valid: it was altered or does not come from us. Nothing was changed.",
        "error.expired_title": "Link expired",
        "error.expired_link": "This link has expired. Nothing was changed; ask for a new one.",
        "error.bad_request": "This request is not valid. Nothing was changed.",
        "language.other": "Français",
    },
}


def choose_language(
    asked: str | None, profile_language: str | None, accept_language: str | None
) -> str:
    """Return the page language: the one asked for, the profile's, the browser's, else English."""
    for candidate in (asked, profile_language):
        if candidate and candidate.lower()[:2] in LANGUAGES:
            return candidate.lower()[:2]
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def text(language: str, key: str, **values: str) -> str:
    """Return a text in the language, with its placeholders filled."""
    return TEXTS[language][key].format(**values)
