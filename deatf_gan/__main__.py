import sys

from deatf_gan.cli import main

sys.exit(main())
