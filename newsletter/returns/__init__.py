"""What comes back after a send: bounces, complaints and mailto unsubscribes, read from
the bounce mailbox and turned into member statuses (for providers that do not do it
themselves)."""
