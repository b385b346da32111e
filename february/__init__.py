"""The february command line: local VM, image build, deploy, check, dns."""
