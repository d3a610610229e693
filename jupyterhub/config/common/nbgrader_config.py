"""nbgrader settings every account on the hub shares: the exchange and the course.

jupyterhub_config.py puts this directory on JUPYTER_CONFIG_PATH of every single-user
server. In a Docker or Kubernetes image, copy this file to /etc/jupyter/ instead.
"""
import os

c = get_config()  # noqa: F821

# A directory every student can write into and the instructor can read: a shared
# volume (NFS, a Kubernetes PVC mounted ReadWriteMany) on multi-machine hubs.
c.Exchange.root = os.environ.get("MLE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
c.CourseDirectory.course_id = os.environ.get("MLE_COURSE_ID", "mle_losses_course")
