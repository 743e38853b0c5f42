"""French and English strings for the pages readers see, and language negotiation."""

from __future__ import annotations

from flask import Request

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "redirecting": "Redirection en cours...",
        "fallback": "Si vous n'êtes pas redirigé automatiquement, cliquez ici",
        "destination": "Destination",
        "preview_title": "Aperçu du lien",
        "preview_intro": "Ce lien court mène à :",
        "continue": "Continuer vers le site",
        "not_found_title": "Lien introuvable",
        "not_found_text": (
            "Aucun lien ne correspond à cette adresse. Vérifiez qu'elle est complète."
        ),
        "gone_title": "Lien indisponible",
        "gone_text": "Ce lien a été désactivé ou a expiré.",
        "error_title": "Une erreur est survenue",
        "error_text": "Le serveur n'a pas pu répondre. Réessayez dans un instant.",
        "rate_limited_title": "Trop de requêtes",
        "rate_limited_text": (
            "Vous avez envoyé trop de requêtes. Patientez un peu avant de réessayer."
        ),
        "unavailable_title": "Service momentanément indisponible",
        "unavailable_text": (
            "Le serveur ne peut pas répondre pour l'instant. Réessayez dans quelques secondes."
        ),
        "bad_request_title": "Requête invalide",
        "powered_by": "Lien raccourci par Balise",
    },
    "en": {
        "redirecting": "Redirecting...",
        "fallback": "If you are not redirected automatically, click here",
        "destination": "Destination",
        "preview_title": "Link preview",
        "preview_intro": "This short link leads to:",
        "continue": "Continue to the site",
        "not_found_title": "Link not found",
        "not_found_text": "No link matches this address. Check that it is complete.",
        "gone_title": "Link unavailable",
        "gone_text": "This link has been disabled or has expired.",
        "error_title": "Something went wrong",
        "error_text": "The server could not answer. Please try again in a moment.",
        "rate_limited_title": "Too many requests",
        "rate_limited_text": (
            "You sent too many requests. Please wait a little before trying again."
        ),
        "unavailable_title": "Temporarily unavailable",
        "unavailable_text": (
            "The server cannot answer right now. Please try again in a few seconds."
        ),
        "bad_request_title": "Bad request",
        "powered_by": "Short link by Balise",
    },
}


def negotiate(request: Request, preferred: str | None = None) -> str:
    """The link's own language, else the best of Accept-Language, else French."""
    if preferred in LANGS:
        return preferred  # type: ignore[return-value]
    best = request.accept_languages.best_match(LANGS)
    return best or DEFAULT_LANG


def messages(lang: str) -> dict[str, str]:
    return MESSAGES.get(lang, MESSAGES[DEFAULT_LANG])
