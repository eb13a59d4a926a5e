"""crm-messaging: chats from WhatsApp, Signal, Telegram and WeChat in a Supabase CRM."""

__version__ = "0.1.0"
